// What the site PKI's commands name before any key or certificate is touched: default lifetimes
// and the RFC 5280 revocation reasons. Apart from ca.ts and crl.ts so that listing the options
// (radseal --help) does not load their ASN.1 libraries.

/** Default lifetimes in days. */
export const DEFAULTS = { caDays: 3650, deviceDays: 1825, technologistDays: 730, pacsDays: 1825, crlDays: 30 };

/** RFC 5280 CRLReason names, in code order. */
export const REVOCATION_REASONS = [
  'unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation',
  'certificateHold', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];
