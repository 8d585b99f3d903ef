/**
 * Prints a measured figure (latency under a fault, drain time) into the test output, so a run
 * documents what it saw and not only that it stayed under the bound.
 */
export function reportFigure(label: string, value: unknown): void {
  process.stdout.write(`[figure] ${label}: ${JSON.stringify(value)}\n`);
}
