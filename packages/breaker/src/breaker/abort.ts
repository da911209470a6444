// The breaker's AbortController: aborted when opossum reports a timeout, renewed on
// half-open and close. The breaker keeps it rather than handing it to opossum, because
// opossum renews its controller only on its own transitions, and half-open here is
// the breaker's own state (see state-machine.ts).

/** Owns the controller a timed-out call aborts; `signal` is always the current one. */
export class TimeoutAbort {
  #controller: AbortController
  readonly #autoRenew: boolean

  constructor(controller: AbortController, autoRenew: boolean) {
    this.#controller = controller
    this.#autoRenew = autoRenew
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** A call timed out: the work it started may stop. */
  abort(): void {
    this.#controller.abort()
  }

  /** With `autoRenewAbortController`, swaps an aborted controller for a fresh one. */
  renew(): void {
    if (this.#autoRenew && this.#controller.signal.aborted) this.#controller = new AbortController()
  }
}
