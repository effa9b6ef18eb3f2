/// How a ledger batch shares the CPU with request serving, chosen by the writer from its queue.
public enum LedgerWritePriority: Sendable, Equatable {
    /// The ledger is keeping up (the batch is less than full): the write may step aside for any thread waiting to
    /// run, so that a client, upstream or event loop woken on its core never waits for the batch to finish.
    case background
    /// A backlog (full batches queued) or a shutdown draining the queue: the write takes the CPU like request
    /// serving does, so that the ledger catches up before its queue fills and holds requests back.
    case catchingUp
}
