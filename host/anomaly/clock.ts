// Local hour and date of a record's time in the rules' time zone (off-hours and
// writer-silence baselines are by hour of the local day).
export interface LocalTime {
  /** 0..23 */
  hour: number;
  /** YYYY-MM-DD in the time zone. */
  date: string;
}

export function localClock(timeZone: string): (ms: number) => LocalTime {
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
  // Records come in bursts: one formatting per quarter hour (zones are offset by whole quarters).
  let lastHour = NaN;
  let last: LocalTime = { hour: 0, date: '' };
  return (ms: number) => {
    const h = Math.floor(ms / 900_000);
    if (h === lastHour) return last;
    const parts = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
    lastHour = h;
    last = { hour: Number(parts.hour) % 24, date: `${parts.year}-${parts.month}-${parts.day}` };
    return last;
  };
}

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** "3 h 05 min", "42 min" */
export function span(ms: number): string {
  const m = Math.round(ms / MINUTE_MS);
  return m >= 60 ? `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min` : `${m} min`;
}
