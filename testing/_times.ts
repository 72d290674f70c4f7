// How often a queued fault or override applies, checked the same way by every fake.

/** Throws a `RangeError` unless `times` is a positive integer or `Infinity`. */
export function checkTimes(times: number): void {
  if (!(times > 0) || (!Number.isInteger(times) && times !== Infinity)) {
    throw new RangeError(`times must be a positive integer or Infinity, got ${times}`);
  }
}
