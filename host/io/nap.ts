// A wait a loop can be woken from: a queue's sender sleeps between tries (backoff, nothing to
// send) and is woken as soon as there is something new or it is told to stop.

export class Nap {
  private wakeUp: (() => void) | null = null;

  /** Resolves after `ms`, or at the next wake(), whichever comes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        res();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  /** Ends the sleep under way, if any. */
  wake(): void {
    this.wakeUp?.();
  }
}
