// radseal command line: argument parsing and wiring only (host/cli/program.ts has the commands).
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv[2]);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    // Expected failures get one clear line; keys and secrets never appear in these messages.
    const message = err instanceof Error ? err.message : String(err);
    console.error(`radseal: ${message}`);
    if (process.env.RADSEAL_DEBUG && err instanceof Error) console.error(err.stack);
    return 2;
  }
}

process.exitCode = await main(process.argv);
