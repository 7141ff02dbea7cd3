/// How a background loop waits for work: ``ring()`` from anywhere (after an
/// approval, a revocation); ``wait(upTo:)`` returns when rung — or rung
/// since the last wait — when the interval has passed, or when the task is
/// cancelled.
actor Doorbell {
  private var waiter: CheckedContinuation<Void, Never>?
  private var rung = false

  nonisolated func ring() {
    Task { await self.wake() }
  }

  private func wake() {
    if let waiter {
      self.waiter = nil
      waiter.resume()
    } else {
      rung = true
    }
  }

  private func timeout() {
    // Only a waiter left waiting is woken; a late timer rings nothing.
    if let waiter {
      self.waiter = nil
      waiter.resume()
    }
  }

  func wait(upTo interval: Duration) async {
    if rung {
      rung = false
      return
    }
    let timer = Task { [weak self] in
      guard (try? await Task.sleep(for: interval)) != nil else { return }
      await self?.timeout()
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        if Task.isCancelled {
          continuation.resume()
        } else {
          waiter = continuation
        }
      }
    } onCancel: {
      Task { await self.timeout() }
    }
    timer.cancel()
  }
}
