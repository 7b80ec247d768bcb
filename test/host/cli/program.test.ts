// The command table: a command line naming one command builds only that one, so each entry must
// name exactly the top-level commands its register function adds, and all of them together must
// be the whole program in help order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, buildProgram } from '../../../host/cli/program.js';

const names = (command?: string) => buildProgram(command).commands.map((c) => c.name());

test('each command builds alone with exactly the names its entry gives', () => {
  for (const entry of COMMANDS) {
    for (const name of entry.names) assert.deepEqual(names(name), entry.names, `radseal ${name}`);
  }
});

test('with no command, an option or an unknown word, every command is there, in the table order', () => {
  const all = COMMANDS.flatMap((c) => c.names);
  assert.equal(new Set(all).size, all.length, 'no name in two entries');
  for (const first of [undefined, '--help', '-V', 'help', 'sael', '']) assert.deepEqual(names(first), all, `first word ${first}`);
});

test('a command built alone parses and rejects as it does among all', async () => {
  for (const build of [() => buildProgram('seal'), () => buildProgram()]) {
    const program = build();
    program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    const seal = program.commands.find((c) => c.name() === 'seal')!;
    seal.exitOverride();
    await assert.rejects(program.parseAsync(['node', 'radseal', 'seal', '--no-such-option']), /unknown option/);
  }
});

test('a command built alone checks the station config against every command', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'radseal-program-')), 'radseal.toml');
  writeFileSync(file, '[ingest]\non-failure = "flag"\n[captur]\nboard = "x"\n');
  const program = buildProgram('seal');
  await assert.rejects(program.parseAsync(['node', 'radseal', 'seal', '--config', file]), (e: Error) => {
    assert.match(e.message, /\[captur\]: no command "captur"/);
    assert.doesNotMatch(e.message, /ingest/, 'another command\'s section is no error');
    return true;
  });
});
