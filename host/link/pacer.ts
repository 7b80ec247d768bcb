// Line-rate pacing for a sender. A pty (and socat) ignores the baud rate, so the simulator paces
// its own output to stand for a real line's speed (USB-CDC, RS-232); the link benchmark paces its
// raw baseline with the same class, so both see the same line.
// A token bucket: up to `burstBytes` ahead of the rate; after an idle second the window restarts,
// so a burst after a wait is not "owed" to the line.
export class LinePacer {
  private start = Number.NaN; // no window yet
  private sent = 0;

  constructor(
    readonly bytesPerSec: number,
    readonly burstBytes = 64 * 1024,
  ) {
    if (!(bytesPerSec > 0)) throw new Error(`pacer: rate ${bytesPerSec} bytes/s is not positive`);
  }

  /** Counts bytes handed to the line. */
  note(bytes: number): void {
    this.sent += bytes;
  }

  /** Milliseconds to wait before the next write (0: write now). */
  waitMs(now = performance.now()): number {
    const rate = this.bytesPerSec;
    if (Number.isNaN(this.start) || (now - this.start > 1000 && this.sent <= ((now - this.start) * rate) / 1000)) {
      this.start = now;
      this.sent = 0;
    }
    const allowed = ((now - this.start) * rate) / 1000 + this.burstBytes;
    return this.sent <= allowed ? 0 : ((this.sent - allowed) * 1000) / rate;
  }
}
