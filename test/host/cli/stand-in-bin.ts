// A copy of bin/radseal.js beside stand-in build outputs that print their own name: tests of which
// file bin/ runs (the bundles, or the modules when a bundle is missing or older than them).
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, tempDir, type Run } from '../support/run.js';

export interface StandInBin {
  /** Writes dist/host/cli/`file`, which prints its name when run. */
  said(file: string): void;
  /** Sets `file`'s modification time `secondsAgo` in the past. */
  age(file: string, secondsAgo: number): void;
  /** What `node bin/radseal.js` printed: the name of the file it ran. */
  ran(): string;
  /** The whole run, for its errors. */
  runBin(): Run;
}

export function standInBin(prefix: string): StandInBin {
  const project = tempDir(prefix);
  const cli = join(project, 'dist/host/cli');
  mkdirSync(join(project, 'bin'), { recursive: true });
  mkdirSync(cli, { recursive: true });
  copyFileSync(join(ROOT, 'bin/radseal.js'), join(project, 'bin/radseal.js'));
  const runBin = () => run(process.execPath, [join(project, 'bin/radseal.js')]);
  return {
    said: (file) => writeFileSync(join(cli, file), `console.log(${JSON.stringify(file)});\n`),
    age: (file, secondsAgo) => {
      const at = new Date(Date.now() - secondsAgo * 1000);
      utimesSync(join(cli, file), at, at);
    },
    ran: () => runBin().stdout.trim(),
    runBin,
  };
}
