// radseal demo: the whole flow on built-in data (loaded when the command runs).
import { Option, type Command } from 'commander';

export function register(program: Command): void {
  program.command('demo')
    .description('run the whole flow on built-in data: keys, frames, link, seal, outbox, verify, a tampered copy')
    .addOption(new Option('--dir <dir>', 'working folder').default('radseal-demo'))
    .action(async (o: { dir: string }) => {
      const { runDemo } = await import('../demo/demo.js');
      const result = await runDemo(o.dir, (line) => console.log(line));
      process.exitCode = result.ok ? 0 : 1;
    });
}
