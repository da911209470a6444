// How a task's promise is rejected when the queue keeps only its `resolve`.

/**
 * A thenable that rejects: resolving a task's promise with it rejects the promise. Tasks
 * keep only the `resolve` of their promise, one function where `reject` would be a second.
 */
export class Rejection {
  constructor(readonly reason: unknown) {}
  // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose, resolved into a task's promise
  then(_onFulfilled: unknown, onRejected: (reason: unknown) => void): void {
    onRejected(this.reason)
  }
}
