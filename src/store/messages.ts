/** Texts every store writes into runs, spelled once so that all backends record the same words. */

/** Why a slot or a retry is skipped: the run that holds the job. */
export function stillRunning(holder: { id: number; instance_id: string; started_at: number }): string {
  return `still running: run ${holder.id} on instance ${holder.instance_id} since ${new Date(holder.started_at).toISOString()}`
}

/** The error of a run whose instance died under it. */
export function interruptedMessage(instanceId: string): string {
  return `interrupted: instance ${instanceId} stopped heartbeating`
}
