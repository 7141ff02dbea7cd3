/// How a background loop waits for work: ``ring()`` from anywhere (after an
/// approval, a revocation, a queued mail); ``wait(upTo:)`` returns when
/// rung — or rung since the last wait — when the interval has passed, or
/// when the task is cancelled.
public actor Doorbell {
  public init() {}
  private var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
  private var generation = 0
  private var rung = false

  public nonisolated func ring() {
    Task { await self.wake() }
  }

  private func wake() {
    if let waiter {
      self.waiter = nil
      waiter.continuation.resume()
    } else {
      rung = true
    }
  }

  /// Ends wait `id` only: a timer that fires late never ends a later wait.
  private func timeout(_ id: Int) {
    if let waiter, waiter.id == id {
      self.waiter = nil
      waiter.continuation.resume()
    }
  }

  public func wait(upTo interval: Duration) async {
    if rung {
      rung = false
      return
    }
    generation += 1
    let id = generation
    let timer = Task { [weak self] in
      guard (try? await Task.sleep(for: interval)) != nil else { return }
      await self?.timeout(id)
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        if Task.isCancelled {
          continuation.resume()
        } else {
          waiter = (id, continuation)
        }
      }
    } onCancel: {
      Task { await self.timeout(id) }
    }
    timer.cancel()
  }
}
