// Heavy modules (ASN.1 and CMS libraries, elliptic-curve arithmetic) loaded the first time they
// are used rather than when the program starts, on paths that must stay synchronous (verifyObject
// never awaits; trust decisions and key handling are synchronous calls). Node 20.19+ require()s
// ES modules: in the built CLI this is the very module instance an `import` gives. (Under tsx, in
// tests, an ES module package may come back as a second copy; callers only pass plain data —
// bytes, dates, node:crypto objects — across, so a copy behaves the same.)
import { createRequire } from 'node:module';

/** A getter for `specifier` (resolved from the module at `from`, its import.meta.url), loaded on first call. */
export function loadOnUse<T>(from: string, specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(from)(specifier) as T);
}
