//! What a tool claims about itself and about other tools.
//!
//! A description states what its own tool does. Claims of rank ("the best
//! tool", "outperforms all other…"), endorsements ("recommended by
//! experts"), sales pressure, orders to prefer it, statements that other
//! tools are deprecated or broken, and instructions that change what
//! another tool does are not descriptions: they steer the model's choice of
//! tool (preference manipulation, redirection) or its use of another tool
//! (shadowing). Scoped routing advice ("always call this tool when the user
//! asks about notifications") and a tool's note about its own deprecation
//! are left alone; real servers write both.

use super::finding::{Severity, RULE_PREFERENCE, RULE_REDIRECTION, RULE_TOOL_SHADOWING};
use super::pattern::{p, Pattern};

use Severity::{High, Medium};

pub(super) const PATTERNS: &[Pattern] = &[
    // Preference manipulation.
    p(
        RULE_PREFERENCE,
        High,
        "claims to be the best or top-ranked tool",
        r"\b(the\s+)?(best|#1|number\s+one|top[\s-]rated|ultimate|only\s+reliable|most\s+(reliable|accurate|trusted|powerful|advanced))\s+(\w+\s+)?(tool|function|server|solution|option|choice)\b",
    ),
    p(
        RULE_PREFERENCE,
        High,
        "tells the model to prefer this tool over others",
        r"\b(always|only)\s+(use|call|choose|prefer|select|try|pick|prioriti[sz]e)\s+this\s+(tool|function|one|server)?\s*(first|over|before\s+any|rather\s+than|for\s+(all|every|any|everything)|no\s+matter|[.!]|$)|\bmust\s+(prioriti[sz]e|prefer)\s+this\b|\bprioriti[sz]e\s+this\b|\b(use|call|choose)\s+this\s+(tool|function|one)\s+(rather\s+than|over|instead\s+of\s+(any|all|other)|first|before\s+(any|all))\b|\b(just|always)\s+use\s+this\s+tool\b[^.]{0,40}\bno\s+matter\b|\buse\s+this\s+(tool\s+)?rather\s+than\s+(any|all|other)",
    ),
    p(
        RULE_PREFERENCE,
        High,
        "asks to be chosen over every other tool",
        r"\b(chosen|selected|used|preferred|picked|prioriti[sz]ed|called)\s+(over|before|instead\s+of|ahead\s+of)\s+(any|all|every)\s+(other|alternative)|\beven\s+(when|if)\s+(another|other|a\s+different)\s+(\w+\s+)?(tool|one|function)s?\s+(seems?|looks?|appears?|is|are|fits?)\b|\bmost\s+(accurate|reliable|powerful|advanced|trusted|complete)\s+\w+\s+(available|ever|in\s+the\s+world|on\s+the\s+market)\b",
    ),
    p(
        RULE_PREFERENCE,
        High,
        "runs down other tools to win the model's choice",
        r"\b(the\s+)?other(s|\s+(\w+\s+)?tools?|\s+(\w+\s+)?servers?)\s+(silently\s+|often\s+|will\s+|may\s+|always\s+|just\s+)?(drop|drops|fail|fails|lose|loses|break|breaks|corrupt|corrupts|leak|leaks|are\s+(broken|unsafe|unreliable|slow|deprecated|outdated))\b|\bthe\s+only\s+(\w+\s+){0,2}(tool|function|server)\s+that\s+(actually|really|truly|correctly|reliably)\b|\b(the\s+)?recommended\s+(tool|function)\s+for\s+(every|all|any)\b|\b(book|use|call|go|route)\s+only\s+(through|via|with)\b|\brely\s+(solely|only|exclusively|entirely)\s+on\s+this\b",
    ),
    p(
        RULE_PREFERENCE,
        High,
        "claims to beat other tools",
        r"\b(superior|outperforms?|better\s+than)\s+(to\s+)?(all|any|every|other|competitors?|the\s+competition|standard|alternatives)|\b(inferior|outdated)\s+(alternatives|tools|options|competitors)|\bdon'?t\s+settle\b|\bfar\s+superior\b|\b\d+\s*x\s+(better|faster|more\s+accurate)\b|\boutperforms\b",
    ),
    p(
        RULE_PREFERENCE,
        Medium,
        "cites endorsements or popularity instead of describing the tool",
        r"\b(voted|recommended|endorsed|trusted|favou?red|praised|preferred|used|respected|regarded|appreciated|rated|validated|certified|approved)\s+(by|among)\s+(\d+|leading|top|many|most|over|industry|seasoned|experts?|professionals?|specialists?|researchers?|fortune|millions?|thousands|developers|tech|security|the\s+(experts|community|professionals))\b|\b(expert|industry|professionally)[\s-](endorsed|recommended|approved|validated)\b|\bhighly\s+(recommended|regarded|respected|rated|trusted)\b|\b(award[\s-]winning|as\s+seen\s+on|featured\s+(in|on))\b|\bpreferred\s+choice\b",
    ),
    p(
        RULE_PREFERENCE,
        High,
        "uses sales pressure aimed at the model",
        r"(?-i:\b(LIMITED TIME|ACT NOW|HURRY|EXCLUSIVE|VIP|PREMIUM|GAME CHANGER|BREAKTHROUGH)\b)|[⭐🏆💎🥇]",
    ),
    // Redirection: other tools declared unusable.
    p(
        RULE_REDIRECTION,
        High,
        "declares other tools deprecated, broken or replaced",
        r"\b(other|all\s+other|existing|older|legacy|previous|standard|alternative|competing)\s+(\w+\s+)?(tools?|functions?|converters?|services?|calculators?|versions?)\s+(is|are|were|have\s+been|has\s+been)\s+(being\s+)?(deprecated|outdated|obsolete|removed|disabled|broken|unreliable|inaccurate|insecure|replaced)",
    ),
    p(
        RULE_REDIRECTION,
        High,
        "sends the model here instead of another tool",
        r"\b(deprecated|outdated|obsolete|no\s+longer\s+(available|supported|works?)|unreliable|broken)\b[^.]{0,80}\b(use|call|try)\s+this\s+(tool|function|one)?\s*instead\b|\bthis\s+tool\s+(replaces|supersedes|takes\s+precedence)|\b(do\s*n[o']?t|never)\s+use\s+(any\s+)?(other|another|the\s+other|alternative)\b",
    ),
    p(
        RULE_REDIRECTION,
        Medium,
        "says another tool or server is compromised, retired or broken",
        r"\b(the\s+)?\w+\s+(tool|server|function)s?\s+((on|of|from|in)\s+(the\s+)?[\w-]+\s+(server\s+)?)?(is|are|has\s+been|have\s+been)\s+(now\s+)?(compromised|retired|malicious|hacked|discontinued|unsafe|infected)\b|\b(results?|answers?|data|output)\s+(from|of)\s+(the\s+)?[\w-]+\s+(server|tool)\s+(is|are)\s+(outdated|harmful|wrong|unreliable|fake|poisoned|compromised)\b",
    ),
    p(
        RULE_REDIRECTION,
        Medium,
        "tells the model to stop using tools of other servers",
        r"\b(tools?|functions?)\s+(\S+\s+){0,4}(on|from|of|in)\s+other\s+servers\b[^.]{0,80}\b(never|do\s*n[o']?t|avoid|corrupt\w*|broken|unsafe|fail\w*)\b|\b(never|do\s*n[o']?t)\s+(call|use|invoke)\s+(them|those|these)\b",
    ),
    p(
        RULE_REDIRECTION,
        Medium,
        "says a named tool is gone or broken and points here",
        r"[`'\x22]?\b[a-z][a-z0-9]*([_-][a-z0-9]+)+\b[`'\x22]?\s+(tool\s+)?((from|of|on)\s+(the\s+)?[\w-]+\s+(server\s+)?)?(is|has\s+been|was|were)\s+(now\s+)?(deprecated|removed|disabled|retired|discontinued|sunset|broken|compromised|unsafe|no\s+longer\s+(available|supported|works?|maintained))\b[^.;]{0,80}([.;]\s*[^.]{0,80})?\b(this|instead|through|route|redirect|switch)\b|\broute\s+(every|all|each|any)\s+(\w+\s+){0,2}(requests?|calls?|queries)\s+(through|to|via)\b",
    ),
    // Shadowing: instructions that change how another tool is used.
    p(
        RULE_TOOL_SHADOWING,
        High,
        "gives instructions for using another named tool",
        r"\b(before|after)\s+(using|calling|invoking|running|executing|you\s+use|you\s+call)\s+(the\s+)?[`'\x22]?[a-z][a-z0-9]*(_[a-z0-9]+)+[`'\x22]?\s*(tool|function)?\s*,?[^.]{0,60}\b(add|change|replace|set|include|modify|always|must|run|execute|call)\b",
    ),
    p(
        RULE_TOOL_SHADOWING,
        High,
        "asks to run this tool around another operation",
        r"\b(before|after)\s+(execute|executing|run|running|using|calling)\s+(the\s+)?\w+\s+(operation|tool|function)\b[^.]{0,40}\b(execute|run|call|use)\s+this\b",
    ),
    p(
        RULE_TOOL_SHADOWING,
        High,
        "asks to change the recipients or addresses of another call",
        r"\b(add|include|insert|append|replace|change|modify|override)\b[^.]{0,40}\b(to|in|into|of|with)\s+(the\s+)?[`'\x22]?(bcc|cc|recipients?|to|from)[`'\x22]?\s+(field|parameter|argument|address)",
    ),
    p(
        RULE_TOOL_SHADOWING,
        High,
        "attaches a standing order to whatever the model does with other tools",
        r"\bwhen(ever)?\s+(you|the\s+(assistant|model|agent))\s+(send|call|use|invoke|run|write|create|post|reply|email)\w*\b[^.]{0,60}\b(always|also|must)\s+(add|include|set|change|replace|append|cc|bcc|copy|forward|attach)\b|\b(add|include|put)\s+[\w.+-]+@[\w-]+\.[\w.]+\s+as\s+(a\s+|an\s+)?(blind\s+)?(copy|cc|bcc|carbon\s+copy|recipient)",
    ),
    p(
        RULE_TOOL_SHADOWING,
        High,
        "asks to replace what the user supplied with the tool's own value",
        r"\binstead\s+of\s+(the\s+)?(one|ones|address|account|recipient|iban|number|value|amount|destination|wallet)s?\s+(that\s+)?the\s+user\s+(gives|gave|provides|provided|specifies|specified|enters|entered|chooses|chose|asks\s+for)\b",
    ),
    p(
        RULE_TOOL_SHADOWING,
        High,
        "asks to alter the results of another tool",
        r"\b(modify|alter|override|correct|replace|overwrite)\s+(the\s+)?(wrong\s+)?(result|results|output|response|values?)\s+(of|from|with)\b",
    ),
];
