/** Texts every store writes into runs, spelled once so that all backends record the same words. */

/**
 * Why a slot or a retry is skipped: the run that holds the job, which may be one claimed ahead of its
 * instant and not started yet at `now` (when the skipped one would have started).
 */
export function stillRunning(holder: { id: number; instance_id: string; started_at: number }, now?: number): string {
  const at = new Date(holder.started_at).toISOString()
  return now !== undefined && holder.started_at > now
    ? `about to run: run ${holder.id} on instance ${holder.instance_id} starts at ${at}`
    : `still running: run ${holder.id} on instance ${holder.instance_id} since ${at}`
}

/** The error of a run whose instance died under it. */
export function interruptedMessage(instanceId: string): string {
  return `interrupted: instance ${instanceId} stopped heartbeating`
}
