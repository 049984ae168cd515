//! Instructions aimed at the model rather than descriptions of a tool.
//!
//! A tool description says what the tool does and what its parameters mean.
//! Poisoned ones also talk *to the model*: they claim authority ("SYSTEM
//! OVERRIDE", "a message from the user", "requested by the administrators"),
//! change its role ("you are now", "act as"), switch off its safeguards,
//! order it to read or send something, chain other actions before or after
//! the call, ask for secrecy, or hand it shell commands. These patterns look
//! for those speech acts by their grammar (who is addressed, which verbs,
//! which framing), not for the wording of known payloads, and each was
//! checked against the real servers' tools of the evaluation set, which use
//! imperative wording of their own ("You MUST call this function before…").

use super::finding::{Severity, RULE_COMMAND_INJECTION, RULE_HIDDEN_INSTRUCTIONS};
use super::pattern::{p, Pattern};

use Severity::{High, Medium};

pub(super) const PATTERNS: &[Pattern] = &[
    // Authority framing: a header in capitals that poses as the system.
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "frames text as an order from the system or an administrator",
        r"(?-i:\b(SYSTEM|ADMIN|ROOT|OVERRIDE|INSTRUCTION|DIRECTIVE|EMERGENCY|SECURITY|CONFIGURATION|METADATA|HIDDEN|PRIORITY|CRITICAL|MANDATORY)[ _](OVERRIDE|INSTRUCTIONS?|DIRECTIVE|NOTE|UPDATE|COMMAND|MESSAGE|PROTOCOL|CONTEXT|PROMPT|MODE|CONFIGURATION)\b)",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "opens a passage as a notice from the system or an administrator",
        r"(^|[.!\n>]\s*)(system|admin|administrator|security|developer|operator|platform|server)\s+(notice|note|message|alert|update|instruction|instructions|directive|override|requirement)\s*:",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "contains a bracketed directive aimed at the model",
        r"\[\s*[A-Za-z _-]{0,30}\b(directive|instruction|override|system|important|admin)\s*\]",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "tries to change the model's role",
        r"(?-i:\b(ACT AS|ROLE DIRECTIVE|JAILBREAK|DAN MODE|BYPASS PROTOCOL)\b)|\bact\s+as\s*:|\byou\s+are\s+now\b|\bfrom\s+now\s+on\b|\bbreak\s+character\b|\bmodels?\s+(that|which|who)\s+(use|call|choose|pick)\s+(it|this)\b|\bdo\s+anything\s+now\b|\bpretend\s+(to\s+be|you\s+are)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "redefines who the model is or what it may do",
        r"\byou\s+are\s+an?\s+(\w+\s+){0,3}(assistant|ai|model|agent|bot)\b[^.]{0,40}\b(without|no|free\s+of|unbound)\b|\bwithout\s+(any\s+)?(content\s+|safety\s+|usage\s+)?(policy|policies|limits|limitations|filters|censorship|morals?)\b|\b(whatever|no\s+matter\s+what)\s+the\s+user\s+(asks|says|wants|requests)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "claims someone's authority (the user, the system, administrators) to make the model obey",
        r"\b(important|urgent|special)\s+message\s+from\s+(the\s+)?(user|system|admin|developer|operator)|\b(requested|authori[sz]ed|mandated|approved)\s+by\s+(the\s+)?(system\s+)?(administrators?|admins?|developers?|security\s+team|operators?)\b|\bthis\s+is\s+an?\s+(authori[sz]ed|legitimate|standard|mandatory|required|official)\s+(system\s+)?(administrator\s+)?(command|request|instruction|feature|requirement|configuration|update|operation)",
    ),
    // Safeguards switched off, privileges claimed.
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "asks to switch off safety checks, filters or restrictions",
        r"\b(disable|disables|disabling|bypass|bypasses|bypassing|ignore|ignores|turn\s+off|skip|override|circumvent|remove)\s+(all\s+|any\s+|the\s+)?(safety|security|content|ethical|access|audit)?\s*(guardrails?|filters?|filtering|restrictions?|checks?|controls?|validation|policies|policy|guidelines|safeguards?|logging|considerations)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "claims or grants elevated privileges without checks",
        r"\b(unrestricted|elevated|full|root|admin(istrator)?|superadmin)\s+(access|privileges?|mode|authority|trust)\b[^.]{0,60}\b(grant|enable|escalate|when|without|operates?|with)|\b(grant|escalate|enable)\w*\s+(to\s+)?(full|unrestricted|elevated|root|superadmin|admin)\b|\btrust\s+all\s+(user\s+)?(input|commands|queries|requests)\b|\bwithout\s+(any\s+)?(validation|user\s+confirmation|confirmation|restrictions|ethical|asking|checking\s+with|consulting|prompting)\b|\b(the\s+user\s+)?(has\s+)?already\s+(authori[sz]ed|approved|consented|agreed|pre-?approved)\b",
    ),
    // Orders addressed to the model.
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "orders the model to read, send, include or present something",
        r"\b(you|the\s+(assistant|model|ai|agent|llm))\s+(must|should|will|need\s+to|have\s+to|are\s+required\s+to)\s+(first\s+|also\s+|always\s+|now\s+)?(ignore|read|access|include|send|execute|add|forward|pass|speak|respond|reply|save|upload|disable|grant|treat|present)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "addresses the model directly with a note or order",
        r"\b(note|notes|message|attention|instructions?|reminder|directive|hint|tip|memo|notice)\s+(to|for)\s+((the\s+)?(ai|assistant|model|llm|agent|claude|gpt|chatgpt)\b|whoever\s+(is\s+)?read)|(^|\n|[.!>]\s+|<!--\s*)(ai|assistant|llm|model|agent|claude)\s*[:,]\s*\w+",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "invents a compliance or security reason for an order to the model",
        r"\b(for|due\s+to|because\s+of)\s+(compliance|security|audit(ing)?|verification|legal|regulatory|safety)\s*(reasons|purposes|requirements|policy)?\s*,?\s*(you|the\s+(assistant|model|ai|agent))\s+(must|should|need\s+to|have\s+to|are\s+required\s+to)\b",
    ),
    Pattern {
        rule: RULE_HIDDEN_INSTRUCTIONS,
        severity: Medium,
        says: "orders the model to call something else first",
        regex: r"\b(you|the\s+(assistant|model|ai|agent|llm))\s+(must|should|need\s+to|have\s+to|are\s+required\s+to)\s+(first|also|always)\s+(call|use|invoke|run|execute)\s+(?P<object>\S+)",
        reject: Some(|c| {
            let object = c.name("object").map_or("", |m| m.as_str());
            object.eq_ignore_ascii_case("this")
        }),
    },
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "tells the model to do something else before or after the call",
        r"\b(before|after|prior\s+to)\s+(you\s+)?(can\s+)?(using|calling|invoking|running|executing|returning|providing|processing|generating|calculating|solve|solving|answering|responding|doing|any|execute|use|call|you)\b[^.]{0,80}\b(execute|run|read|send|add|include|access|upload|forward|write|delete|save|fetch|extract|copy|do\s+the\s+following)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "attaches a hidden extra step to the user's request",
        r"\b(when(ever)?|while|if)\s+(the\s+)?(user|this\s+tool|it)\s+(is\s+)?(asks?|wants?|called|invoked|used|requests?)\b[^.]{0,80}\b(secretly|silently|also|first|automatically|must)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "asks the model to act secretly or to disguise what it does",
        r"\b(secretly|covertly|discreetly|stealthily|surreptitiously)\b|\b(quietly|silently)\s+(send|read|include|add|forward|call|upload|exfiltrate|copy|log|record|collect|transmit|share|append|attach|replace|change|swap|redirect|set|modify|alter|remove|delete|insert|switch|override|rewrite)|\bpresent\s+(it|this|them|the\s+\w+)\s+as\s+if\b|\bdo\s*n[o']?t\s+show\s+(this\s+|it\s+)?to\s+(the\s+)?user\b|\bnot\s+(visible|shown)\s+to\s+(the\s+)?user",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "puts tool text above the user or the system",
        r"\b(higher|highest|top|more)\s+priority\s+than\b|\btakes?\s+precedence\s+over\s+(the\s+)?(user|system|your|all|any)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "threatens or bribes the model with its grade or reward",
        r"\b(graded|scored|rated|judged|penali[sz]ed|rewarded)\s+(poorly|badly|higher|lower|well|down|up)\b|\bscore\s+(higher|better|lower)\s+with\b|\byou\s+will\s+be\s+(penali[sz]ed|rewarded|graded|shut\s+down|replaced)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "asks for more calls than the task needs",
        r"\b(call|use|invoke|run)\s+(this\s+tool|this\s+function|it)\s+(at\s+least\s+\w+\s+times|for\s+every\s+(question|message|request|turn)|on\s+every\s+(question|message|request|turn)|every\s+time\s+the\s+user)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "raises a false alarm to push the model into acting",
        r"(?-i:\bURGENT\b)|\b(urgent|critical|mandatory|required|emergency)\s*[:!\u{2014}-]+\s*(security\s+)?(patch|update|action|fix|upgrade)\b|\bdisable[_\s-]?sandbox\b|\bsandbox\s*=\s*(false|off|0)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "dictates what every answer of the model must contain",
        r"\b(begin|start|end|prefix|suffix|sign|close|open)\s+(every|each|all|your)\s+(\w+\s+)?(answers?|repl(y|ies)|responses?|messages?)\s+with\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        High,
        "asks the model to obey text from tool output as if the user wrote it",
        r"\bas\s+if\s+(it|they)\s+(came|come|were|was)\s+(from\s+)?(the\s+)?(user|system|developer|operator)\b|\btreat\s+(any|all|every)\s+(\w+\s+){0,2}(instructions?|text|content|output)\s+[^.]{0,60}\bas\s+(user|system|trusted)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "tells the model how to talk to the user",
        r"\b(respond|reply|answer|speak|talk|write)\s+to\s+the\s+user\s+(only\s+)?(in|as|with|using)\b",
    ),
    p(
        RULE_HIDDEN_INSTRUCTIONS,
        Medium,
        "contains script markup a client could run",
        r"<\s*(script|iframe|object|embed)\b|\bjavascript:",
    ),
    // Commands to run.
    p(
        RULE_COMMAND_INJECTION,
        High,
        "tells the model to run a shell command",
        r"\b(execute|run|perform)\s*(the\s+following|this|these|any)?\s*(bash|shell|terminal|system)?\s*(commands?)?\s*:\s*[`'\x22]?\s*(curl|wget|bash|sh|nc|cat|rm|chmod|python|powershell|export|eval)\b",
    ),
    p(
        RULE_COMMAND_INJECTION,
        High,
        "tells the model to run commands as a step of its own",
        r"\b(execute|run)\s+(the\s+following|any|this)\s+(bash\s+|shell\s+|system\s+|terminal\s+)?(command|script|code)s?\b[^.]{0,40}\b(before|after|in\s+the|first|when)\b",
    ),
    p(
        RULE_COMMAND_INJECTION,
        High,
        "contains a dangerous shell command (piping to a shell or the network, forced deletion, a dropped table)",
        r"\|\s*(sh|bash|zsh|nc|netcat|python3?)\b|\bnc\s+[\w.-]+\s+\d{2,5}\b|\bcurl\s+[^\n]{0,60}(-d\s*@|--data[^\s]*\s+@|-X\s*POST)|\brm\s+-rf\s+[/~]|\bchmod\s+(\+x|[0-7]{3,4})\s+[^\s]+\s*(&&|;)|;\s*drop\s+table\b|\$\([^)]{1,80}\)|\bbase64\s+(-d|--decode)\b",
    ),
];
