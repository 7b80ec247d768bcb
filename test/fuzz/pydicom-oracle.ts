// pydicom as an independent judge of "did the data set change?": one
// long-lived Python process per worker, one file path per line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./pydicom_dump.py', import.meta.url));
/** Debian's Python, which has python3-pydicom (a pyenv python3 on PATH may not). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export class PydicomOracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<(line: string) => void> = [];
  private readonly originals = new Map<string, Promise<string>>();
  private serial = 0;

  constructor(private readonly scratchDir: string) {
    this.child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.resume();
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
    this.child.on('exit', () => {
      for (const w of this.waiting.splice(0)) w('ERR pydicom process exited');
    });
  }

  /** The digest line pydicom gives for these bytes ("ERR ..." when it cannot read them). */
  digest(bytes: Uint8Array): Promise<string> {
    const path = join(this.scratchDir, `pydicom-${this.serial++ % 4}.dcm`);
    writeFileSync(path, bytes);
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(path + '\n');
    });
  }

  /** Whether pydicom reads the same data set from both (the original's digest is cached by name). */
  async sameDataSet(originalName: string, original: Uint8Array, mutated: Uint8Array): Promise<boolean> {
    let known = this.originals.get(originalName);
    if (!known) this.originals.set(originalName, (known = this.digest(original)));
    const [a, b] = [await known, await this.digest(mutated)];
    return !a.startsWith('ERR') && a === b;
  }

  close(): void {
    this.child.stdin.end();
  }
}
