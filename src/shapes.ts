/**
 * Keeps the latest object of each hot kind alive, so that V8 keeps its hidden class. V8 collects a
 * hidden class once no object of it is left, and then discards the optimised code of every function
 * built for it. The objects of a run (its attempt and context, its outcome write) live only while it
 * runs: between two instants none exists, so every full garbage collection sent the start path back
 * to the interpreter and the next instant's jobs started milliseconds late (bench/micro/full-gc.mjs).
 * Holding one object of each kind, until the next replaces it, is all it takes.
 */
const kept = new Map<string, object>()

/** Keep `value` (when there is one) as the live example of `kind`, replacing the previous one. */
export function keepShape(kind: string, value: object | undefined): void {
  if (value !== undefined) kept.set(kind, value)
}
