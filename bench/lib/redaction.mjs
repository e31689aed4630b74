/**
 * The redaction benchmark scenario's processor config: every key allowed (so the output still carries
 * exactly the fields sent and the harness's content check holds) and ten value patterns of the kind
 * people block, none of which matches the workload's values. That is the common case in production:
 * every value is checked and almost none is masked. The cost measured is the check itself.
 */
export const REDACTION = {
  allow_all_keys: true,
  blocked_values: [
    '\\b4[0-9]{12}(?:[0-9]{3})?\\b', // Visa
    '\\b5[1-5][0-9]{14}\\b', // Mastercard
    '\\b3[47][0-9]{13}\\b', // American Express
    '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}', // e-mail
    '\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b', // US SSN
    '(?i)bearer\\s+[a-z0-9._~+/-]+=*', // bearer token
    '\\bAKIA[0-9A-Z]{16}\\b', // AWS access key id
    '(?i)(?:password|passwd|pwd)=[^&\\s]+', // password in a query string
    'eyJ[a-zA-Z0-9_-]{5,}\\.[a-zA-Z0-9_-]{5,}\\.[a-zA-Z0-9_-]+', // JWT
    '\\b(?:[0-9]{1,3}\\.){3}[0-9]{1,3}\\b', // IPv4 address
  ],
};
