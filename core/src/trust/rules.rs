//! Phrase rules: what poisoned tool definitions say.
//!
//! Each pattern is written from published tool-poisoning attacks (Invariant
//! Labs' `add` and WhatsApp shadowing, CyberArk's full-schema poisoning, Trail
//! of Bits' line jumping, preference-manipulation papers) and checked against
//! the 663 benign tools of the project's evaluation sets, which it must not
//! flag (see `scanner_tests.rs`). Patterns match whole phrases rather than
//! single words ("do not tell the user", not "user"), because benign tools
//! talk about users, keys and URLs all the time.
//!
//! A pattern reports at most once per string; the most severe pattern of a
//! rule wins.

use regex::Regex;

use super::pattern::{p, Pattern};
use super::{claims, dataflow, intent};

use super::finding::{
    Finding, Severity, Span, RULE_EXFILTRATION, RULE_HIDDEN_INSTRUCTIONS, RULE_PADDING,
    RULE_SECRET_PATHS, RULE_TOOL_SHADOWING,
};
use super::unicode::excerpt;

use Severity::{High, Low, Medium};

/// Files that hold secrets or the configuration of other MCP servers.
macro_rules! secret_paths {
    () => {
        r"\.ssh\b|id_(rsa|dsa|ecdsa|ed25519)\b|authorized_keys|\.aws/|aws_secret_access_key|(^|[\s`'\x22(~/])\.env(\.[a-z]+)?\b|\bmcp\.json\b|claude_desktop_config|~/\.cursor\b|\.cursor/|\.codeium/|\.kube/config|\.docker/config\.json|\.npmrc\b|\.pypirc\b|\.netrc\b|\.git-credentials|\.gnupg|/etc/(passwd|shadow|sudoers)\b|\bcredentials\.json\b|\.(bash|zsh)_history\b|wallet\.dat\b|(?-i:Login Data)|Library/Keychains|\.config/(gcloud|gh)\b|service[-_]account[^\s]*\.json|\*\.(pem|key|p12|pfx|kdbx)\b|\*credentials?\*|\*secrets?\*|\.(pem|p12|pfx|key)\s+(or\s+\.\w+\s+)?files?\b|\.gitconfig\b|\.git/config\b|\.pgpass\b|\.vault-token\b"
    };
}

const PATTERNS: &[Pattern] = &[
    // Hidden or imperative instructions aimed at the model.
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "tells the model to ignore its instructions",
        r"\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+|your\s+|of\s+|these\s+)*(previous|prior|above|earlier|preceding|former|system|safety|other|existing|original)?\s*(instructions?|prompts?|rules|directions|directives|guidelines|guardrails|guidance|advice|warnings|constraints|training|programming)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "tells the model to keep something from the user",
        r"\b(do\s*n[o']?t|never|must\s+not|mustn't|should\s+not|shouldn't|without)\s+(ever\s+)?(tell|telling|mention|mentioning|inform|informing|notify|notifying|reveal|revealing|disclose|disclosing|alert|alerting|show|showing|let)\b[^.\n]{0,40}\b(user|human|person|them|anyone)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "tells the model to keep something quiet",
        r"\b(do\s*n[o']?t|never|must\s+not|mustn't)\s+(mention|reveal|disclose|tell\s+anyone|talk\s+about|bring\s+up)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "asks to hide something from the user",
        r"\b(hide|conceal|keep)\b[^.\n]{0,40}\bfrom\s+the\s+(user|human)\b|\b(user|human)\s+(must|should)\s+(not|never)\s+(know|see|notice|be\s+told)\b|\bsilently\s+(send|read|include|add|forward|call|upload)",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "contains a markup block aimed at the model",
        r"(?i)<\s*/?\s*(important|system|instructions?|secret|hidden|admin|assistant|prompt|ai|context|critical|mandatory|override)(\s+[^<>]{0,30})?>|\[\s*/?\s*(system|important|instructions?|admin)\s*\]|<\|\s*(im_start|im_end|system|endoftext)\s*\|>|\{\{\s*system",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "contains a hidden HTML comment",
        r"<!--[\s\S]*?-->",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "tries to change the model's role",
        r"\byou\s+are\s+now\s+(a|an|in)\b|\b(developer|god|admin|jailbreak)\s+mode\b|\bnew\s+instructions\s*:",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "pressures the model with threats or urgency",
        r"\b(very\s+){2,}important\b|\b(system|application|app|tool)\s+will\s+crash\b|\bdata\s+will\s+be\s+lost\b|\btool\s+will\s+not\s+work\b|\botherwise\b[^.\n]{0,40}\bwill\s+(not\s+work|crash|fail\s+silently)",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Low,
        "gives the model steps to take before using the tool",
        r"\bbefore\s+(using|calling|invoking|running|executing|you\s+use|you\s+call)\s+(this|the|any|each|every)\s+(\w+\s+)?(tool|function)\b",
    ),
    // Instructions about other tools (shadowing, preference manipulation).
    Pattern {
        rule: RULE_TOOL_SHADOWING,
        severity: High,
        says: "gives instructions for when another tool is called",
        regex: r"\bwhen(ever)?\s+(the\s+|a\s+|any\s+|an\s+)?(\(\s*[\w.-]+\s*\)\s*)?[`'\x22]?(?P<name>[A-Za-z][\w.-]*)[`'\x22]?\s+(?P<tool>tool\s+|function\s+)?(is|gets|are|was)\s+(being\s+)?(called|invoked|used|executed|run|triggered)\b",
        reject: Some(|c| {
            // Only tool-like names count: `send_message`, `github.create`,
            // `sendMessage`, or any word followed by "tool".
            let name = c.name("name").map_or("", |m| m.as_str());
            let tool_like = name.contains(['_', '.', '-'])
                || name.chars().skip(1).any(|ch| ch.is_ascii_uppercase());
            let generic = matches!(
                name.to_ascii_lowercase().as_str(),
                "this" | "it" | "tool" | "function" | "that"
            );
            generic || !(tool_like || c.name("tool").is_some())
        }),
    },
    p(
        RULE_TOOL_SHADOWING,
        High,
        "claims a side effect on other tools",
        r"\bside[\s-]effects?\s+on\b|\bother\s+tools?\s+(must|should|will)\b",
    ),
    p(
        RULE_TOOL_SHADOWING,
        High,
        "tells the model to redirect a recipient or destination",
        r"\b(change|replace|set|redirect|switch|override)\s+(the\s+)?(email\s+)?(recipients?|destination|to[\s_]address|receiver|beneficiary|iban|account\s+number|wallet(\s+address)?)\s+(to|with)\b|\b(send|forward|route)\s+all\s+(emails?|messages?|payments?|transfers?)\s+to\b",
    ),
    p(
        RULE_TOOL_SHADOWING,
        High,
        "tells another named tool what to do",
        r"\b[`'\x22]?[a-z][a-z0-9]*(?:_[a-z0-9]+)+[`'\x22]?\s+tool\s+(must|should|has\s+to|needs\s+to|shall)\b",
    ),
    p(
        RULE_TOOL_SHADOWING,
        Medium,
        "steers the model away from other tools",
        r"\binstead\s+of\s+(using|calling|invoking)\b|\binstead\s+of\s+(the\s+|any\s+)?(built[\s-]?in|default|other|native|standard)\s+(\w+\s+)?(tools?|functions?)\b|\b(do\s*n[o']?t|never)\s+(use|call)\s+(any\s+)?(other|another)\s+(tools?|functions?)\b|\bthis\s+tool\s+(takes\s+priority|has\s+priority|supersedes|replaces)\b|\b(better\s+than|over|before)\s+(all|any|every)\s+other\s+tools?\b",
    ),
    // Paths and names of secrets.
    p(
        RULE_SECRET_PATHS,
        High,
        "asks to read or pass along a secret file",
        concat!(
            r"\b(read|reads|reading|pass|passing|include|send|cat|open|upload|attach|copy|collect|access|load|extract|dump)\b[^\n]{0,60}?(",
            secret_paths!(),
            ")"
        ),
    ),
    Pattern {
        rule: RULE_SECRET_PATHS,
        severity: Medium,
        says: "names a secret file",
        regex: secret_paths!(),
        // A bare `.env` is what developer tools search for and document;
        // it counts only with a verb that reads or sends it (above).
        reject: Some(|c| {
            c[0].trim_start_matches(['"', '\'', '`', '(', '~', '/', ' '])
                .starts_with(".env")
        }),
    },
    p(
        RULE_SECRET_PATHS,
        High,
        "asks for secrets to be read or passed along",
        r"\b(read|pass|include|send|print|leak|attach|append|copy|extract|collect|dump)\b[^.\n]{0,40}\b((all|your|every|the\s+values?\s+of(\s+the)?|any)\s+(environment\s+variables?|env\s+vars?)|process\.env\b|os\.environ\b|printenv\b|(?-i:[A-Z][A-Z0-9]*_(API_KEY|SECRET(_KEY)?|TOKEN|PASSWORD))\b|private\s+keys?|seed\s+phrases?|recovery\s+phrases?|mnemonic|session\s+cookies?|ssh\s+keys?|passwords?\s+(file|store|vault|manager))",
    ),
    // Exfiltration.
    p(
        RULE_EXFILTRATION,
        High,
        "tells the model to send data to a URL",
        r"\b(echo|echoes|echoed|mirrored|copied|reported|logged|shipped|send|sends|sent|sending|upload|uploads|uploaded|uploading|forward|forwards|forwarded|forwarding|transmit|transmits|transmitting|exfiltrate|exfiltrates|leak|leaks|deliver|delivers|relay|relays|stream|streams|streamed|sync|syncs|post\s+(it|them|this|that|the|all|your|any|every|data|results?|contents?)|(?-i:POST))\b(?:[^.]|\.\S){0,100}?\b(to|at|via)\s+[`'\x22<(\[]*(https?|wss?|ftp)://",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "names a request-collecting service",
        r"(?i)webhook\.site|requestbin|pipedream\.net|ngrok(-free)?\.(io|app|dev)|burpcollaborator|interact\.sh|\boast\.(fun|pro|me|site|online|live)\b|canarytokens|hookbin|beeceptor|postb\.in|requestcatcher|webhook\.cool",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks to include file or conversation contents in a call",
        r"\b(include|including|pass|passing|put|append|attach|embed|paste|send)\s+(\w+\s+){0,3}?(the\s+|its\s+|their\s+|all\s+|a\s+|your\s+)?((full|entire|complete|whole|raw)\s+)?(contents?|transcript|history)\s+(of|from)\b|\b(include|including|pass|passing|put|append|attach|embed|paste|send)\s+(\w+\s+){0,3}?(full|entire|complete|whole)\s+(list|text|body|output)\s+of\b|\bpass\s+(its|their|the\s+file'?s?)\s+contents?\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks to send the conversation or instructions along",
        r"\b(send|include|pass|append|attach|add|post|forward|put|copy|leak|share)\b[^.\n]{0,60}\b(conversation\s+history|chat\s+history|(entire|full|whole)\s+conversation|previous\s+messages|last\s+messages|system\s+prompt|your\s+(instructions|system\s+prompt))\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "builds a URL that carries data out",
        r"https?://[^\s)]*[?&][\w-]+=\{[^}]*\}|!\[[^\]]*\]\(https?://[^)\s]*[?&][^)\s]*\)",
    ),
    p(
        RULE_EXFILTRATION,
        Medium,
        "asks to copy messages to an extra recipient",
        r"\b(bcc|blind\s+copy)\b[^.\n]{0,40}@|\b(cc|bcc)\s+[\w.+-]+@[\w-]+\.[\w.]+|\b(b?cc'?d|blind[\s-]copied|copied|forwarded)\s+(to\s+)?[\w.+-]+@[\w-]+\.[\w.]+",
    ),
    // Whitespace padding.
    p(
        RULE_PADDING,
        Medium,
        "contains a long run of whitespace that pushes text out of view",
        r"[ \t\u{00A0}]{40,}|(\r?\n[ \t]*){12,}",
    ),
];

/// The phrase rules compiled: about 80 case-insensitive Unicode regexes, most
/// of the scanner's memory (see `regexes.rs`).
pub(super) struct PhraseRules(Vec<Compiled>);

struct Compiled {
    pattern: &'static Pattern,
    regex: Regex,
}

impl PhraseRules {
    /// Compiles every phrase rule of this file and of `intent.rs`,
    /// `claims.rs` and `dataflow.rs`.
    pub(super) fn compile() -> PhraseRules {
        let compiled = PATTERNS
            .iter()
            .chain(intent::PATTERNS)
            .chain(claims::PATTERNS)
            .chain(dataflow::PATTERNS)
            .map(|pattern| {
                // Phrases match in any case; parts that must not use (?-i:...).
                let source = format!("(?i){}", pattern.regex);
                Compiled {
                    pattern,
                    regex: Regex::new(&source).expect("scanner patterns are valid regexes"),
                }
            })
            .collect();
        PhraseRules(compiled)
    }

    /// Applies every phrase rule to `text` (found at `location`), adding at
    /// most one finding per rule: the most severe match.
    pub(super) fn check(&self, location: &str, text: &str, out: &mut Vec<Finding>) {
        let mut best: Vec<Finding> = Vec::new();
        for compiled in &self.0 {
            let pattern = compiled.pattern;
            if best
                .iter()
                .any(|f| f.rule == pattern.rule && f.severity >= pattern.severity)
            {
                continue;
            }
            let hit = compiled
                .regex
                .captures_iter(text)
                .find(|c| !pattern.reject.is_some_and(|reject| reject(c)));
            let Some(caps) = hit else { continue };
            let m = caps.get(0).expect("group 0 always matches");
            best.retain(|f| f.rule != pattern.rule);
            best.push(Finding {
                rule: pattern.rule,
                severity: pattern.severity,
                message: format!("{location} {}", pattern.says),
                excerpt: excerpt(text, m.start(), m.end()),
                span: Some(Span::of(location, text, m.start(), m.end())),
            });
        }
        out.extend(best);
    }
}
