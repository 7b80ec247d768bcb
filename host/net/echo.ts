// C-ECHO SCU (Verification SOP Class, PS3.7 9.1.5): is the peer there, does it
// accept our AE titles, does its TLS certificate check out.
import { commandElement, IMPLICIT_LE, uidValue, usValue } from './pdu.js';
import { DIMSE, DicomNetError, describePeer, responseStatus, withAssociation, type AssociationTarget } from './association.js';
import { VERIFICATION_SOP_CLASS } from './scp.js';

export { VERIFICATION_SOP_CLASS };

export interface EchoResult {
  status: number;
  /** Connect, associate, echo and release, in milliseconds. */
  roundTripMs: number;
}

/** One C-ECHO on its own association. Throws DicomNetError saying what failed (connect, association, status). */
export async function cEcho(target: AssociationTarget): Promise<EchoResult> {
  const t0 = performance.now();
  const status = await withAssociation(target, [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT_LE] }], async (a) => {
    const pc = a.requireContext(VERIFICATION_SOP_CLASS, 'verification (C-ECHO)');
    await a.send(pc.id, [
      commandElement(DIMSE.affectedSopClass, uidValue(VERIFICATION_SOP_CLASS)),
      commandElement(DIMSE.commandField, usValue(0x0030)), // C-ECHO-RQ
      commandElement(DIMSE.messageId, usValue(a.newMessageId())),
    ]);
    return responseStatus(await a.receive(), 'C-ECHO');
  });
  if (status !== 0) throw new DicomNetError(`C-ECHO to ${describePeer(target)} answered status 0x${status.toString(16).padStart(4, '0')}`, true);
  return { status, roundTripMs: performance.now() - t0 };
}
