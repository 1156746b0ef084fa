import Control
import JSON
import Platform
import Runner
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The daemon's workers (control-plane.md "Queue and workers"): the store is the queue. `task
// create` (and `task start`) with a daemon serving the data directory marks the task queued
// and returns; a dispatcher thread takes queued tasks oldest first and runs each on a worker
// thread, at most `--workers` at once. Every run begins with the store's atomic claim, so a task
// is never run twice (a foreground runner that got there first wins). On start, tasks whose
// runner died are recovered and queued again; on SIGTERM the running tasks pause at their next
// step boundary (within the drain timeout, else at once) and are queued again, so the next
// daemon resumes them.
final class WorkerPool: @unchecked Sendable {
    let dataDirectory: String
    let storeLocation: StoreLocation?
    let lease: LeaseRequest
    let workers: Int
    let environment: [String: String]
    let say: @Sendable (String) -> Void
    private let running = Locked<[String: TaskRunner]>([:])
    private let stopping = Locked(false)
    /// Tasks a claim was refused for (another runner has them), with when to look again.
    private let refused = Locked<[String: Int64]>([:])
    private let dispatcher = Locked<JoinableThread?>(nil)
    private let store = Locked<(any ResourceStore, any TaskStore)?>(nil)
    /// Which worker slots (1...workers) run a task now, by task id.
    private let slots = Locked<[String: Int]>([:])
    private let identity = Locked<(incarnation: Int64, buildID: String?)>((1, nil))
    /// Called when a task's `self_restart` left a new daemon binary (the daemon drains and re-executes).
    var onRestart: @Sendable (RestartRequest, String) -> Void = { _, _ in }

    /// Called when this daemon's lease was lost (it was silent longer than the lease: other
    /// daemons may be running its tasks): the daemon stops.
    var onLeaseLost: @Sendable () -> Void = {}

    init(
        dataDirectory: String, store: StoreLocation?, lease: LeaseRequest, workers: Int, environment: [String: String],
        say: @escaping @Sendable (String) -> Void
    ) {
        self.dataDirectory = dataDirectory
        self.storeLocation = store
        self.lease = lease
        self.workers = workers
        self.environment = environment
        self.say = say
    }

    /// Opens the store, records this start (its incarnation), recovers tasks of dead runners,
    /// queues the tasks that wait for this restart, and starts dispatching. Returns the
    /// incarnation and the build id, nil when the store cannot be opened (no task runs).
    func start(handover: DaemonHandover?, version: String) -> (incarnation: Int64, buildID: String?, runner: String)? {
        let buildID = BuildIdentity.current
        let incarnation: Int64
        let runnerID: String
        do {
            let resources = try SQLResourceStore.connect(store: storeLocation, dataDirectory: dataDirectory)
            let tasks = resources.taskStore()
            store.withLock { $0 = (resources, tasks) }
            // The claim on every task this daemon takes: renewed by a heartbeat; when it is lost
            // (this process was stopped or cut off longer than the lease), its tasks stop here.
            runnerID = try tasks.holdLease(lease) { [self] in leaseLost() }
            say("runner \(runnerID) on \(RunnerHost.current): lease \(DaemonOptions.format(lease.leaseSeconds))"
                + (lease.workspaces.isEmpty ? "" : ", workspaces " + lease.workspaces.joined(separator: ", "))
                + (lease.labels.isEmpty ? "" : ", labels " + lease.labels.map { $0.name + "=" + $0.value }.joined(separator: ", "))
                + (storeLocation.map { "; store \($0.display)" } ?? ""))
            incarnation = try tasks.beginIncarnation(pid: getpid(), buildID: buildID, previousBuildID: handover?.previousBuildID)
            identity.withLock { $0 = (incarnation, buildID) }
            var started: [(key: String, value: JSONValue)] = [
                ("incarnation", .int(incarnation)), ("pid", .int(Int64(getpid()))), ("version", .string(version)),
                ("build_id", buildID.map { .string($0) } ?? .null), ("workers", .int(Int64(workers))),
            ]
            if let handover {
                started.append(("restarted_from", handover.previousBuildID.map { .string($0) } ?? .null))
                record(.daemonRestarted, restartPayload(handover: handover, incarnation: incarnation, buildID: buildID))
            }
            record(.daemonStarted, .object(started))
            // After a restart in place this process has the PID that owned the previous
            // incarnation's tasks: none of them runs any more.
            try recover(tasks, deadRunner: handover == nil ? nil : getpid())
            for task in try tasks.tasksAwaitingRestart() {
                let payload = restartPayload(handover: handover, incarnation: incarnation, buildID: buildID)
                try tasks.write { writer in
                    try writer.append(NewEvent(.daemonRestarted, cycle: task.cycle > 0 ? task.cycle : nil, payload: payload), task: task.id)
                }
                _ = try tasks.enqueue(task.id)
                say("task \(task.id): it waited for this restart; queued to continue at its next step")
            }
        } catch {
            say("error: the worker pool cannot open the store: \(error); no task will run")
            return nil
        }
        let thread = Threads.start(joinable: true) { [self] in dispatch() }
        dispatcher.withLock { $0 = thread }
        return (incarnation, buildID, runnerID)
    }

    private func restartPayload(handover: DaemonHandover?, incarnation: Int64, buildID: String?) -> JSONValue {
        .object([
            ("old_sha", handover?.previousBuildID.map { .string($0) } ?? .null), ("new_sha", buildID.map { .string($0) } ?? .null),
            ("incarnation", .int(incarnation)), ("pid", .int(Int64(getpid()))),
        ])
    }

    /// Records a daemon event (best effort: a failure is logged, never fatal).
    func record(_ type: EventType, _ payload: JSONValue) {
        guard let (_, tasks) = store.withLock({ $0 }) else { return }
        let incarnation = identity.withLock { $0.incarnation }
        do {
            try tasks.appendDaemonEvent(type, incarnation: incarnation, payload: payload)
        } catch {
            say("cannot record the daemon event \(type.rawValue): \(error)")
        }
    }

    /// Takes back the tasks of runners that are gone (on this host: their process; elsewhere:
    /// their lease expired) and queues them again, unless their RuntimePolicy resumes by hand.
    /// At start with `deadRunner` (a restart in place), then every third of the lease.
    private func recover(_ tasks: any TaskStore, deadRunner: Int32?) throws {
        for id in try tasks.recoverOrphanedTasks(deadRunner: deadRunner) {
            // A project whose RuntimePolicy says `resume: {auto: false}` resumes by hand.
            if let task = try tasks.task(id),
                let policy = try? RuntimePolicy.of(PinnedWorkflow.resources(from: task.snapshot, project: task.project), project: task.project),
                !policy.resumeAutomatically
            {
                say("task \(id): its runner had died; left interrupted (RuntimePolicy \(policy.name ?? "") has resume.auto false: `orchestrator task resume \(id)`)")
                continue
            }
            try tasks.write { writer in
                try writer.append(NewEvent(.taskRequeued, payload: .object([("reason", .string("its runner was gone"))])), task: id)
            }
            _ = try? tasks.enqueue(id)
            say("task \(id): its runner had died; recovered and queued again")
        }
    }

    /// The lease was lost: nothing this daemon runs may go on (another daemon may have taken it).
    private func leaseLost() {
        say("error: this daemon's lease expired before its heartbeat renewed it (stopped or cut off from the store); its tasks stop here and the daemon stops")
        stopping.withLock { $0 = true }
        for runner in running.withLock({ $0 }).values { runner.interrupt() }
        onLeaseLost()
    }

    private func dispatch() {
        guard let (resources, tasks) = store.withLock({ $0 }) else { return }
        let recoveryInterval = Int64(lease.leaseSeconds * 1000 / 3)
        var lastQueueError: String?
        var nextRecovery = monotonicMilliseconds() + recoveryInterval
        while !stopping.withLock({ $0 }) {
            if monotonicMilliseconds() >= nextRecovery {
                nextRecovery = monotonicMilliseconds() + recoveryInterval
                do {
                    try recover(tasks, deadRunner: nil)
                } catch {
                    say("cannot take back the tasks of gone runners: \(error)")
                }
            }
            let active = running.withLock { Set($0.keys) }
            // Every worker busy: look again soon (a finishing task frees one).
            if active.count >= workers {
                usleep(20_000)
                continue
            }
            // The oldest queued task that no worker has taken up yet (its claim, in the
            // worker's thread, takes it off the queue a moment later) and that was not refused.
            let next: TaskRecord?
            do {
                next = try tasks.reserveNextQueued(excluding: active.union(skipped()))
            } catch {
                // Said once per distinct failure (the store down, a task this machine cannot
                // read), then tried again a second later.
                let message = "\(error)"
                if lastQueueError != message { say("cannot take a task from the queue: \(message)") }
                lastQueueError = message
                usleep(1_000_000)
                continue
            }
            lastQueueError = nil
            guard let next else {
                usleep(50_000)
                continue
            }
            launch(next.id, resources: resources, tasks: tasks)
        }
    }

    /// Tasks a claim was refused for recently: not tried again before their time.
    private func skipped() -> Set<String> {
        let now = monotonicMilliseconds()
        return refused.withLock { entries in
            entries = entries.filter { $0.value > now }
            return Set(entries.keys)
        }
    }

    private func launch(_ id: String, resources: any ResourceStore, tasks: any TaskStore) {
        let runner: TaskRunner
        let slot = slots.withLock { taken in
            let used = Set(taken.values)
            let free = (1...max(1, workers)).first { !used.contains($0) } ?? 1
            taken[id] = free
            return free
        }
        let (incarnation, buildID) = identity.withLock { $0 }
        var options = RunnerOptions(environment: environment)
        options.buildID = buildID
        options.claim = RunnerClaim(worker: slot, incarnation: incarnation)
        if let executable = SelfRestartHost.currentExecutable() {
            options.selfRestart = SelfRestartHost(executable: executable, stableDirectory: dataDirectory + "/bin")
        }
        do {
            runner = try TaskRunner(tasks: tasks, resources: resources, taskID: id, options: options)
        } catch {
            slots.withLock { $0[id] = nil }
            say("task \(id) cannot run: \(error)")
            refused.withLock { $0[id] = monotonicMilliseconds() + 5_000 }
            try? tasks.releaseReservation(id)
            return
        }
        running.withLock { $0[id] = runner }
        let started = Threads.start { [self] in
            defer {
                running.withLock { $0[id] = nil }
                slots.withLock { $0[id] = nil }
            }
            do {
                let final = try runner.run()
                say("task \(id) \(final.status.rawValue)\(final.reason.map { ": \($0)" } ?? "")")
                if let request = runner.restartRequest {
                    stopping.withLock { $0 = true }
                    onRestart(request, id)
                }
            } catch let refusal as TaskClaimRefused {
                say("task \(id) not run: \(refusal.message)")
                refused.withLock { $0[id] = monotonicMilliseconds() + 5_000 }
                try? tasks.releaseReservation(id)
            } catch let error as StoreError {
                // Left interrupted by its runner (the store failed under it): queued again, to
                // resume where it was cut off once the store answers.
                say("task \(id) stopped: the store failed: \(error)")
                if (try? tasks.task(id))?.status == .interrupted {
                    _ = try? tasks.write { writer in
                        try writer.append(NewEvent(.taskRequeued, payload: .object([("reason", .string("the store failed under its runner"))])), task: id)
                    }
                    if (try? tasks.enqueue(id)) != nil { say("task \(id) queued again") }
                }
            } catch {
                say("task \(id) stopped with an error: \(error)")
            }
        }
        if started == nil {
            running.withLock { $0[id] = nil }
            slots.withLock { $0[id] = nil }
            say("no thread for task \(id); it stays queued")
            try? tasks.releaseReservation(id)
            refused.withLock { $0[id] = monotonicMilliseconds() + 1_000 }
        }
    }

    /// Stops taking tasks; running ones pause at their next step boundary, or at once when the
    /// timeout passes; each is queued again for the next start.
    func drain(timeoutSeconds: Double) {
        stopping.withLock { $0 = true }
        dispatcher.withLock { $0 }?.join()
        // At the end nothing runs here any more: reservations go back to the queue, the
        // runner's row goes.
        defer { store.withLock { $0 }?.1.releaseLease() }
        let active = running.withLock { $0 }
        guard !active.isEmpty else { return }
        say("draining \(active.count) running task\(active.count == 1 ? "" : "s"): they pause at their next step boundary")
        for runner in active.values { runner.requestPause() }
        let deadline = monotonicMilliseconds() + Int64(timeoutSeconds * 1000)
        while !running.withLock({ $0.isEmpty }), monotonicMilliseconds() < deadline { usleep(50_000) }
        let left = running.withLock { $0 }
        if !left.isEmpty {
            say("drain timeout: pausing \(left.count) task\(left.count == 1 ? "" : "s") at once (their running steps run again on resume)")
            for runner in left.values { runner.interrupt() }
            while !running.withLock({ $0.isEmpty }) { usleep(50_000) }
        }
        guard let (_, tasks) = store.withLock({ $0 }) else { return }
        for id in active.keys.sorted() {
            if (try? tasks.task(id))?.status == .paused, (try? tasks.enqueue(id)) != nil {
                say("task \(id) paused by the drain; queued for the next start")
            }
        }
    }
}
