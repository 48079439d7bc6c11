{
  "variables": {
    "m2_gate": "node --import tsx kernels/cuda/build-gate.ts",
    "m2_cuda%": "<!(node --import tsx kernels/cuda/build-gate.ts enabled)"
  },
  "targets": [
    {
      "target_name": "m2_kernels",
      "sources": ["<!@(ls -1 kernels/src/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
      "ldflags": ["-pthread"],
      "libraries": ["-ldl"],
      "conditions": [
        ["m2_cuda==1", {
          "variables": {
            "cuda_home": "<!(<(m2_gate) cuda-home)",
            "nvcc": "<!(<(m2_gate) nvcc)",
            "gencode": ["<!@(<(m2_gate) gencode)"]
          },
          "defines": ["M2_WITH_CUDA"],
          "sources": ["<!@(ls -1 kernels/cuda/*.cu)"],
          "libraries": ["-L<(cuda_home)/lib64", "-lcublas", "-lcudart", "-Wl,-rpath,<(cuda_home)/lib64"],
          "rules": [
            {
              "rule_name": "nvcc",
              "extension": "cu",
              "inputs": ["<!@(ls -1 kernels/cuda/*.cuh kernels/cuda/*.h kernels/src/*.h)"],
              "outputs": ["<(INTERMEDIATE_DIR)/<(RULE_INPUT_ROOT).cu.o"],
              "action": ["<(nvcc)", "-std=c++17", "-O3", "-Xcompiler", "-fPIC", "<@(gencode)", "-c",
                         "<(RULE_INPUT_PATH)", "-o", "<@(_outputs)"],
              "message": "NVCC <(RULE_INPUT_PATH)",
              "process_outputs_as_sources": 1
            }
          ]
        }]
      ]
    }
  ]
}
