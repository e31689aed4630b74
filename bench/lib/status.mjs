/** What became of one request, as the load generator records it (one byte per request). */
export const STATUS = Object.freeze({ NOT_SENT: 0, ACCEPTED: 1, REFUSED: 2, OTHER: 3, ERROR: 4 });
