// The names certificates carry as CN: a device id (it also goes into file
// names and the attestation's LO) and an operator id (an SH code value in
// Operator Identification Sequence). One rule for self-signed keys and the site CA.

const DEVICE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const OPERATOR_ID = /^[A-Za-z0-9._-]{1,16}$/;

/** Why `id` cannot be a device id, or null when it can. */
export function deviceIdProblem(id: string): string | null {
  return DEVICE_ID.test(id) ? null : `device id "${id}" must be 1-64 letters, digits, '.', '_' or '-'`;
}

/** Why `id` cannot be an operator id, or null when it can. */
export function operatorIdProblem(id: string): string | null {
  return OPERATOR_ID.test(id) ? null : `operator id "${id}" must be 1-16 letters, digits, '.', '_' or '-' (it becomes an SH code value)`;
}

/** Why `id` cannot be a PACS signer id (certificate CN), or null when it can: the device id rule. */
export function pacsIdProblem(id: string): string | null {
  return DEVICE_ID.test(id) ? null : `PACS id "${id}" must be 1-64 letters, digits, '.', '_' or '-'`;
}
