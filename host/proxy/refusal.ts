// Why the proxy will not seal an object, as the modality hears it: a C-STORE
// failure status and an Error Comment (0000,0902, at most 64 characters), plus
// the full reason for the proxy's own log.

/** C-STORE failure "cannot understand" (PS3.4 B.2.3, 0xCxxx): the encoding or content cannot be sealed. */
export const CANNOT_UNDERSTAND = 0xc000;
/** C-STORE failure "data set does not match SOP class" (0xA900): no Pixel Data, pixel geometry wrong. */
export const DATA_SET_MISMATCH = 0xa900;

export class Refusal extends Error {
  override name = 'Refusal';
  constructor(readonly status: number, readonly comment: string, readonly reason: string) {
    super(reason);
    if (comment.length > 64) throw new RangeError(`internal: Error Comment over 64 characters: ${comment}`);
  }
}
