// How long-running m2 commands end: the first SIGTERM or SIGINT starts a graceful drain (the
// command's `shutdown`), and the command's exit code says whether it completed. A second signal
// during the drain falls through to the child-process exit hooks, which kill children at once.

/** Resolves with 0 after `shutdown(drainMs)` completed on the first SIGTERM/SIGINT, 1 if it threw. */
export function runUntilSignal(name: string, drainMs: number, shutdown: (graceMs: number) => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      console.error(`${name}: ${signal}: draining (up to ${drainMs / 1000} s)`);
      shutdown(drainMs).then(
        () => resolve(0),
        (err: unknown) => {
          console.error(`${name}: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
