import Compiler
import JSON
import Runner
import Store

/// The dashboard's pages. Every text that is not this file's own goes through `HTML.escape`
/// (a task's through `TaskView.shown`, which masks first).
enum Pages {
    static func notFound(_ message: String) -> PageDocument {
        PageDocument(title: "not found", body: "<h1>404: not found</h1><p>" + HTML.escape(message) + "</p><p><a href=\"/\">the tasks</a></p>")
    }

    static func problem(_ message: String) -> PageDocument {
        PageDocument(title: "error", body: "<h1>The dashboard cannot answer</h1><p>" + HTML.escape(message) + "</p>")
    }

    static func statusBadge(_ status: TaskStatus) -> String {
        "<span class=\"status status-\(status.rawValue)\">\(status.rawValue)</span>"
    }

    static func taskLink(_ id: String, _ text: String) -> String {
        "<a href=\"/tasks/\(HTML.percentEncode(id))\">" + text + "</a>"
    }

    static func workflowLink(project: String, name: String) -> String {
        "<a href=\"/workflows/\(HTML.percentEncode(project))/\(HTML.percentEncode(name))\">" + HTML.escape(name) + "</a>"
    }

    // MARK: tasks

    /// The most tasks the list shows (the newest).
    static let listLimit = 500

    static func tasks(_ reader: DashboardReader, status: String?, search: String?) -> PageDocument {
        let wanted = status.flatMap { TaskStatus(rawValue: $0) }
        let words = (search ?? "").lowercased().split(separator: " ").map(String.init)
        let shown: [TaskSummary]
        let total: Int
        if words.isEmpty {
            // The newest page through the creation-order index: a store of 100,000 tasks is not read whole.
            let page = (try? reader.tasks.latestTaskSummaries(status: wanted, limit: listLimit)) ?? (tasks: [], total: 0)
            (shown, total) = (page.tasks, page.total)
        } else {
            // A search looks at every task's words.
            let all = (try? reader.tasks.taskSummaries()) ?? []
            let chosen = all.filter { task in
                (wanted == nil || task.status == wanted)
                    && words.allSatisfy { word in
                        [task.id, task.name, task.workflow, task.project, task.workspace, task.goal].contains { $0.lowercased().contains(word) }
                    }
            }
            shown = Array(chosen.sorted { $0.createdAt > $1.createdAt }.prefix(listLimit))
            total = all.count
        }
        var body = "<h1>Tasks</h1><form class=\"filter\" method=\"get\" action=\"/\"><select name=\"status\"><option value=\"\">every status</option>"
        for option in TaskStatus.allCases {
            body += "<option value=\"\(option.rawValue)\"\(option == wanted ? " selected" : "")>\(option.rawValue)</option>"
        }
        body += "</select><input type=\"search\" name=\"q\" placeholder=\"search name, id, workflow, project, goal\" size=\"40\" value=\""
            + HTML.escape(search ?? "") + "\"><button type=\"submit\">filter</button></form>"
        body += "<p class=\"live\">\(shown.count) of \(total) task\(total == 1 ? "" : "s")\(wanted.map { " " + $0.rawValue } ?? "")</p>"
        body += "<table id=\"tasks\"><thead><tr><th>task</th><th>status</th><th>workflow</th><th>project</th><th>progress</th><th>duration</th><th>created</th></tr></thead><tbody>"
        for task in shown {
            let items = (try? reader.tasks.items(task.id)) ?? []
            body += "<tr data-task=\"\(HTML.escape(task.id))\"><td>" + taskLink(task.id, HTML.escape(task.name)) + "<br><code>" + HTML.escape(task.id) + "</code></td>"
            body += "<td>" + statusBadge(task.status) + "</td><td>" + workflowLink(project: task.project, name: task.workflow) + "</td>"
            body += "<td>" + HTML.escape(task.project) + "</td><td>" + progress(task, items: items) + "</td>"
            body += "<td>" + HTML.escape(DashboardClock.span(task.startedAt, task.finishedAt ?? (task.status == .running ? nil : task.updatedAt)))
                + "</td><td>" + HTML.escape(task.createdAt) + "</td></tr>"
        }
        body += "</tbody></table>"
        return PageDocument(title: "tasks", body: body)
    }

    /// `cycle 2 · 3 items: 2 qa_passed, 1 unresolved`.
    static func progress(_ task: TaskSummary, items: [ItemRecord]) -> String {
        var text = task.cycle > 0 ? "cycle \(task.cycle)" : "not started"
        let active = items.filter(\.active)
        if !active.isEmpty {
            var counts: [(String, Int)] = []
            for item in active {
                if let index = counts.firstIndex(where: { $0.0 == item.status }) { counts[index].1 += 1 } else { counts.append((item.status, 1)) }
            }
            text += " · \(active.count) item\(active.count == 1 ? "" : "s"): " + counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        }
        return HTML.escape(text)
    }

    // MARK: one task

    static func task(_ view: TaskView) -> PageDocument {
        let task = view.task
        var body = "<h1>Task " + view.shown(task.name) + " " + statusBadge(task.status) + "</h1>"
        body += "<p class=\"live\"><span id=\"stream\">\(task.status.isTerminal ? "the task has stopped" : "connecting for live updates")</span>"
        body += " · <label><input type=\"checkbox\" id=\"follow\" checked> follow the logs</label></p>"
        let last = view.events.last?.id ?? 0
        body += "<div id=\"live\" data-last-event=\"\(last)\" data-final=\"\(task.status.isTerminal)\">" + live(view) + "</div>"
        return PageDocument(title: "task " + task.name, body: body, script: task.status.isTerminal ? nil : liveScript)
    }

    /// The part of the task page the live script replaces as events arrive.
    static func live(_ view: TaskView) -> String {
        let task = view.task
        var out = "<dl class=\"meta\">"
        func row(_ name: String, _ value: String) { out += "<dt>\(name)</dt><dd>\(value)</dd>" }
        row("id", "<code>" + HTML.escape(task.id) + "</code>")
        row("status", statusBadge(task.status) + (task.reason.map { " " + view.shown($0) } ?? ""))
        row("workflow", workflowLink(project: task.project, name: task.workflow) + " (project " + HTML.escape(task.project) + ", workspace " + HTML.escape(task.workspace) + ")")
        row("goal", view.shown(task.goal))
        if !task.options.variables.isEmpty {
            // `--set` and trigger variables (sealed at rest; a webhook's payload may carry a
            // secret): masked here as `task info` masks them.
            row("variables", task.options.variables.map { "<code>" + view.shown($0.name + "=" + $0.value) + "</code>" }.joined(separator: " "))
        }
        row("cycle", "\(task.cycle)")
        row("duration", HTML.escape(DashboardClock.span(task.startedAt, task.finishedAt ?? (task.status == .running ? nil : task.updatedAt))))
        row("events", "\(view.events.count) (the last has id \(view.events.last?.id ?? 0))")
        out += "</dl>"
        if let problem = view.problem { out += "<p class=\"finding-warning\">" + HTML.escape(problem) + "</p>" }
        let timeline = view.trace?.timeline ?? []
        if let graph = view.graph {
            out += "<h2>Step graph</h2><p>Each step and item coloured by its latest outcome.</p>" + StepGraphSVG.legend() + "<div>"
            out += StepGraphSVG(graph: graph, rows: timeline, caption: "latest outcome of every step").render() + "</div>"
        }
        out += timelineSection(view, timeline)
        out += findingsSection(view)
        out += logsSection(view)
        return out
    }

    static func timelineSection(_ view: TaskView, _ timeline: [TimelineRow]) -> String {
        guard !timeline.isEmpty else { return "<h2>Timeline</h2><p>Nothing has run yet.</p>" }
        var out = "<h2>Timeline</h2>"
        let cycles = Array(Set(timeline.map(\.cycle))).sorted()
        // How long each step took, cycle after cycle (an item-scoped step: its longest item).
        var steps: [String] = []
        var longestRun: [String: Int64] = [:]
        for row in timeline {
            if !steps.contains(row.step) { steps.append(row.step) }
            if let duration = row.durationMS { longestRun["\(row.cycle) \(row.step)"] = max(longestRun["\(row.cycle) \(row.step)"] ?? 0, duration) }
        }
        out += "<h3>Durations, cycle after cycle</h3><table id=\"durations\"><thead><tr><th>step</th>" + cycles.map { "<th>cycle \($0)</th>" }.joined() + "</tr></thead><tbody>"
        for step in steps {
            out += "<tr><td>" + view.shown(step) + "</td>"
            out += cycles.map { cycle in "<td>" + (longestRun["\(cycle) \(step)"].map { HTML.escape(DashboardClock.duration($0)) } ?? "") + "</td>" }.joined()
            out += "</tr>"
        }
        out += "</tbody></table>"
        for cycle in cycles {
            let rows = timeline.filter { $0.cycle == cycle }
            out += "<section class=\"cycle\" data-cycle=\"\(cycle)\"><h3>Cycle \(cycle)</h3>"
            if let graph = view.graph { out += StepGraphSVG(graph: graph, rows: rows, caption: "cycle \(cycle)").render() }
            let longest = max(1, rows.compactMap(\.durationMS).max() ?? 1)
            out += "<table><thead><tr><th>step</th><th>item</th><th>outcome</th><th>start</th><th>duration</th><th></th><th>exit</th><th>decision</th></tr></thead><tbody>"
            for row in rows {
                let outcome = StepOutcome(row)
                let width = Int((row.durationMS ?? 0) * 160 / longest)
                out += "<tr class=\"outcome-row-\(outcome.rawValue)\"><td>" + view.shown(row.step) + "</td><td>" + view.shown(row.item ?? "") + "</td>"
                out += "<td>" + HTML.escape(outcome.rawValue) + "</td><td>" + HTML.escape(row.start ?? "") + "</td>"
                out += "<td>" + (row.durationMS.map { HTML.escape(DashboardClock.duration($0)) } ?? "") + "</td>"
                out += "<td><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"164\" height=\"10\"><rect class=\"bar\" x=\"0\" y=\"1\" width=\"\(max(1, width))\" height=\"8\"/></svg></td>"
                out += "<td>" + (row.exitCode.map { "\($0)" } ?? "") + "</td>"
                out += "<td>" + view.shown([row.decision, row.reason].compactMap { $0 }.joined(separator: ": ")) + "</td></tr>"
            }
            out += "</tbody></table></section>"
        }
        return out
    }

    static func findingsSection(_ view: TaskView) -> String {
        guard let trace = view.trace else { return "" }
        var out = "<h2>Trace findings</h2>"
        if trace.findings.isEmpty {
            out += "<p>No trace rule found anything (docs/trace.md).</p>"
        } else {
            out += "<table id=\"findings\"><thead><tr><th>severity</th><th>rule</th><th>where</th><th>finding</th></tr></thead><tbody>"
            for finding in trace.findings {
                let place = [finding.cycle.map { "cycle \($0)" }, finding.step, finding.item.map { "[\($0)]" }].compactMap { $0 }.joined(separator: " ")
                out += "<tr class=\"finding-\(finding.severity.rawValue)\"><td>\(finding.severity.rawValue)</td><td>\(finding.rule.rawValue)</td>"
                out += "<td>" + view.shown(place) + "</td><td>" + view.shown(finding.message) + "</td></tr>"
            }
            out += "</tbody></table>"
        }
        if !trace.notes.isEmpty {
            out += "<h3>Notes</h3><ul>" + trace.notes.map { "<li>" + view.shown($0.line) + "</li>" }.joined() + "</ul>"
        }
        out += "<h3>Plan against what ran</h3><table><thead><tr><th>cycle</th><th>step</th><th>planned</th><th>ran</th></tr></thead><tbody>"
        for entry in trace.entries {
            out += "<tr><td>\(entry.cycle)</td><td>" + view.shown(entry.step) + "</td><td>" + view.shown(entry.planned + (entry.plannedReason.map { " (\($0))" } ?? ""))
                + "</td><td>" + view.shown(entry.executed) + "</td></tr>"
        }
        return out + "</tbody></table>"
    }

    static func logsSection(_ view: TaskView) -> String {
        var out = "<h2>Logs</h2>"
        let shown = view.runs.filter { $0.status == .finished || $0.status == .running || $0.status == .interrupted }
        guard !shown.isEmpty else { return out + "<p>No step has written output yet.</p>" }
        for run in shown {
            for (label, path) in [("stdout", run.stdoutPath), ("stderr", run.stderrPath)] {
                guard let path else { continue }
                let text = DashboardReader.log(path)
                if text.isEmpty && label == "stderr" { continue }
                let state = run.status == .running ? "running" : "exit \(run.exitCode.map(String.init) ?? "?")"
                out += "<h3 class=\"log-head\">cycle \(run.cycle) " + view.shown(run.step) + (run.item.map { " [" + view.shown($0) + "]" } ?? "")
                    + " \(label) (\(state))</h3>"
                out += "<pre class=\"log\" data-step=\"" + view.shown(run.step) + "\">" + view.shown(text) + "</pre>"
            }
        }
        return out
    }

    /// Follows the task: an EventSource on its event stream; every event (at most one reload at a
    /// time) fetches the live part again; the stream's `end` closes it. While "follow" is ticked
    /// the live part is also fetched every 2 s (a running step's log grows without events) and the
    /// logs scroll to their end.
    static let liveScript = """
        (function(){
          var live=document.getElementById('live'),state=document.getElementById('stream'),follow=document.getElementById('follow');
          var busy=false,dirty=false;
          function scroll(){if(!follow.checked)return;var logs=document.querySelectorAll('pre.log');for(var i=0;i<logs.length;i++){logs[i].scrollTop=logs[i].scrollHeight;}}
          function refresh(){dirty=true;if(busy)return;busy=true;dirty=false;
            fetch(location.pathname+'?fragment=live',{credentials:'same-origin'}).then(function(r){return r.text();}).then(function(t){
              live.innerHTML=t;busy=false;scroll();if(dirty)refresh();}).catch(function(){busy=false;});}
          var source=new EventSource(location.pathname+'/events?after='+encodeURIComponent(live.getAttribute('data-last-event')));
          source.onopen=function(){state.textContent='live: following the task';};
          source.onmessage=function(e){state.textContent='live: event '+e.lastEventId;refresh();};
          var timer=setInterval(function(){if(follow.checked)refresh();},2000);
          source.addEventListener('end',function(e){source.close();clearInterval(timer);state.textContent='the task has stopped ('+e.data+')';refresh();});
          scroll();
        })();
        """

    // MARK: workflows

    static func workflows(_ reader: DashboardReader) -> PageDocument {
        var body = "<h1>Workflows</h1><table><thead><tr><th>workflow</th><th>project</th></tr></thead><tbody>"
        for workflow in reader.workflows() {
            body += "<tr><td>" + workflowLink(project: workflow.project, name: workflow.name) + "</td><td>" + HTML.escape(workflow.project) + "</td></tr>"
        }
        return PageDocument(title: "workflows", body: body + "</tbody></table>")
    }

    /// The plan of a stored workflow, cycle by cycle: `Planner.plan`, what `plan -o json` prints.
    static func workflow(_ reader: DashboardReader, project: String, name: String) -> PageDocument? {
        guard let compiled = reader.workflowGraph(project: project, name: name) else { return nil }
        var body = "<h1>Workflow " + HTML.escape(name) + "</h1><p>Project " + HTML.escape(project)
            + ", as applied now; the plan is what <code>orchestrator plan</code> shows.</p>"
        switch compiled {
        case .failure(let problem):
            return PageDocument(title: "workflow " + name, body: body + "<p class=\"finding-error\">" + HTML.escape(problem.message) + "</p>")
        case .success(let graph):
            let plan = Planner.plan(graph)
            body += "<p>loop " + HTML.escape(graph.loop.mode.rawValue) + (plan.cycleLimit.map { ", at most \($0) cycles" } ?? ", no cycle limit")
                + (plan.truncated ? " (the first \(plan.cycles.count) shown)" : "") + "</p>"
            body += StepGraphSVG(graph: graph, rows: [], caption: "the steps in the order they run").render()
            body += "<h2>Steps</h2><table><thead><tr><th>step</th><th>kind</th><th>scope</th><th>segment</th><th>repeatable</th><th>prehook</th></tr></thead><tbody>"
            for step in graph.steps {
                body += "<tr><td>" + HTML.escape(step.id) + "</td><td>" + HTML.escape(step.kind.name) + "</td><td>" + HTML.escape(step.scope.rawValue) + "</td>"
                body += "<td>" + (step.segment.map { "\($0)" } ?? "guard") + "</td><td>\(step.repeatable)</td><td><code>" + HTML.escape(step.prehook?.when.text ?? "") + "</code></td></tr>"
            }
            body += "</tbody></table><h2>Plan per cycle</h2>"
            for cycle in plan.cycles {
                body += "<section class=\"plan-cycle\" data-cycle=\"\(cycle.cycle)\"><h3>Cycle \(cycle.cycle)</h3><table><thead><tr><th>step</th><th>decision</th><th>reason</th><th>depends on</th></tr></thead><tbody>"
                for planned in cycle.steps + cycle.steps.flatMap(\.children) {
                    body += "<tr data-step=\"" + HTML.escape(planned.id) + "\" data-decision=\"\(planned.decision.verdict.rawValue)\"><td>" + HTML.escape(planned.id) + "</td>"
                    body += "<td>\(planned.decision.verdict.rawValue)</td><td>" + HTML.escape(planned.decision.reason ?? "") + "</td>"
                    body += "<td>" + HTML.escape(planned.decision.unknowns.joined(separator: ", ")) + "</td></tr>"
                }
                body += "</tbody></table></section>"
                if let repeated = plan.repeated, repeated.first == cycle.cycle + 1 {
                    body += "<p>cycles \(repeated.first)-\(repeated.last): as cycle \(repeated.sameAs)</p>"
                }
            }
            return PageDocument(title: "workflow " + name, body: body)
        }
    }
}
