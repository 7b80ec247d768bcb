// How far apart clocks may be before a date counts as "in the future". A
// modality, a time-stamping authority, the CA machine and PACS each keep their
// own clock; small drift is normal, a date well ahead of now is not.

/** Dates up to this far ahead of the verifier's clock are accepted (5 minutes). */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;

/** Whether `date` lies ahead of `now` by more than the tolerance. */
export function isBeyondClockTolerance(date: Date, now: Date): boolean {
  return date.getTime() > now.getTime() + CLOCK_TOLERANCE_MS;
}
