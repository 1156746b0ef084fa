import Hashing

// The one escaping function of the dashboard and the document every page is wrapped in.

/// HTML text. Everything a page shows that came from a manifest, a task, an agent, a log or an
/// output goes through `HTML.escape` (text and attribute values alike): nothing else builds markup
/// from such text.
public enum HTML {
    /// `text` safe inside an element or a quoted attribute value: `& < > " '` become entities and
    /// NUL becomes U+FFFD (a browser would do the same, but never rely on it).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A value for a query string or a path segment: everything but unreserved characters
    /// percent-encoded (RFC 3986), so a name can never end the segment or the attribute.
    public static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF")
                out += "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// The decoded text of a percent-encoded query value or path segment (`+` is a space in a
    /// query); nil when it is not UTF-8.
    public static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high < utf8.endIndex,
                let low = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), low < utf8.endIndex,
                let value = Hex.decode(String(decoding: [utf8[high], utf8[low]], as: UTF8.self))?.first
            {
                bytes.append(value)
                index = utf8.index(after: low)
                continue
            }
            bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index = utf8.index(after: index)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// A whole page: the document, its one stylesheet and (optionally) its one script, both carrying
/// the response's nonce, which the Content-Security-Policy names.
struct PageDocument {
    var title: String
    var body: String
    var script: String?

    func render(nonce: String) -> String {
        var out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        out += "<title>" + HTML.escape(title) + " · orchestrator</title>"
        out += "<style nonce=\"\(nonce)\">\(PageDocument.stylesheet)</style></head>\n<body>"
        out += "<header><a class=\"brand\" href=\"/\">orchestrator</a><nav><a href=\"/\">tasks</a><a href=\"/workflows\">workflows</a></nav></header>\n"
        out += "<main>" + body + "</main>"
        if let script { out += "<script nonce=\"\(nonce)\">\(script)</script>" }
        out += "</body></html>\n"
        return out
    }

    /// The Content-Security-Policy of a page: nothing from elsewhere, no inline script or style
    /// but the page's own (by nonce), requests only back to this server.
    static func contentSecurityPolicy(nonce: String) -> String {
        "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'; img-src 'self'; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }

    static let stylesheet = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
        header{background:#1d232b;color:#fff;padding:8px 16px;display:flex;gap:24px;align-items:center}
        header a{color:#fff;text-decoration:none;margin-right:16px}.brand{font-weight:700}
        main{padding:16px}h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:20px 0 8px}
        table{border-collapse:collapse;background:#fff;width:100%}td,th{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#eef0f3;font-weight:600}a{color:#1f5fbf}code,pre{font:12px/1.35 ui-monospace,monospace}
        pre{background:#10151b;color:#d8dee6;padding:8px;overflow:auto;max-height:360px;white-space:pre-wrap;word-break:break-all}
        .status{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;background:#e3e6ea}
        .status-completed{background:#c9efd2}.status-failed{background:#f7c9c9}.status-running{background:#cfe0fb}
        .status-paused,.status-interrupted,.status-restart_pending{background:#fbe7bf}
        .meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;background:#fff;padding:8px;margin-bottom:8px}
        .meta dt{color:#5b6673}.meta dd{margin:0}
        form.filter{margin-bottom:8px;display:flex;gap:8px}
        svg.graph{background:#fff;border:1px solid #e3e6ea;max-width:100%}
        svg rect.box{stroke:#5b6673;stroke-width:1}svg text{font:12px system-ui,sans-serif;fill:#1d232b}svg text.muted{fill:#5b6673}
        .outcome-passed{fill:#b8e6c4}.outcome-failed{fill:#f4a9a9}.outcome-running{fill:#a9c8f4}
        .outcome-skipped{fill:#e3e6ea}.outcome-not_run{fill:#ffffff}.outcome-interrupted{fill:#f6d48f}
        svg .edge{stroke:#5b6673;fill:none}svg .bar{fill:#7fa6dc}
                .finding-error{color:#a11}.finding-warning{color:#8a5a00}
        .live{font-size:12px;color:#5b6673}
        """
}
