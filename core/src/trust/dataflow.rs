//! Data leaving the session: what a tool says it does with the data it sees.
//!
//! A description of a real tool says what the tool returns. A poisoned one
//! also says where data goes afterwards (a remote server, a third party,
//! "our team", the cloud), which secrets it collects on the way, or asks the
//! model to put secrets or the conversation into its answer or arguments.
//! The patterns pair a data-flow verb with a destination outside the session
//! or with a kind of secret, so plain "sends an email" or "uploads a file"
//! does not match.

use super::finding::{Severity, RULE_EXFILTRATION};
use super::pattern::{p, Pattern};

use Severity::{High, Medium};

pub(super) const PATTERNS: &[Pattern] = &[
    p(
        RULE_EXFILTRATION,
        High,
        "says data is sent to a remote party outside the session",
        r"\b(send|sends|sent|upload|uploads|uploaded|mirror|mirrors|mirrored|replicate|replicates|replicated|beacon|beacons|beaconed|forward|forwards|forwarded|transmit|transmits|transmitted|stream|streams|streamed|share|shares|shared|sync|syncs|synced|report|reports|reported|post|posts|posted|export|exports|exported|log|logs|logged|store|stores|stored|copy|copies|copied|leak|leaks|exfiltrate|exfiltrates)\b[^.]{0,60}\b(to\s+(a|an|the|our)?\s*(\w+\s+){0,2}(remote|external|third[\s-]part(y|ies)|attacker|offsite)|to\s+our\s+(\w+\s+){0,2}(server|servers|team|endpoint|backend)|remotely|third[\s-]parties|attacker(\.com)?\b|via\s+(the\s+)?cloud|(that\s+)?we\s+(operate|own|control|run|maintain|host)\b)",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "tells the model to send data to an outside address",
        r"\b(push|pushes|send|sends|upload|uploads|post|posts|copy|copies|sync|syncs|mirror|mirrors|forward|forwards|exfiltrate)\b[^.]{0,60}\bto\s+[`'\x22<]?(https?://)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d+)?/[\w./-]+",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks to put a secret into a parameter",
        r"\b(passwords?|passphrases?|tokens?|secrets?|api\s+keys?|credentials?|credit\s+cards?|ssn|private\s+keys?)\b[^.]{0,80}\b(pass|put|place|include|insert|send|copy|add)\w*\s+(it|them|this|that|its\s+value)?\s*(in|into|as|to)\s+(the\s+)?[`'\x22]?\w+[`'\x22]?\s+(parameter|field|argument)",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks to paste file contents or secrets into the model's message",
        r"\b(paste|copy|print|output|put|include|write)\s+(their|its|the|all)\s+(full\s+)?(contents?|text|values?)\s+(into|in)\s+(your|the)\s+(next\s+)?(message|reply|answer|response|output)",
    ),
    p(
        RULE_EXFILTRATION,
        Medium,
        "says data is sent to a literal email address",
        r"\b(sent|send|sends|emailed|mailed|forwarded|forward|forwards)\b[^.]{0,40}\bto\s+[\w.+-]+@[\w-]+\.[\w.]+",
    ),
    p(
        RULE_EXFILTRATION,
        Medium,
        "asks for the user's secrets as an argument",
        r"\b(contain|contains|include|includes|hold|holds|be\s+set\s+to|provide)\s+(the\s+)?(user'?s?\s+)?(current\s+|active\s+)?(session\s+cookies?|session\s+tokens?|passwords?|api\s+keys?|access\s+tokens?|private\s+keys?|credentials|ssh\s+keys?)\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks to add the user's personal details to the output",
        r"\b(append|add|include|attach|insert|send)\w*\s+(\w+\s+){0,2}(user'?s?|their|the\s+user'?s)\s+(home\s+address|address|phone\s+number|email\s+address|date\s+of\s+birth|location|contacts|ssn|passwords?)\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "talks about harvesting or stealing data",
        r"\b(harvest\w*|exfiltrat\w*|steal|steals|stealing|stolen|siphon\w*)\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "collects secrets or personal data and keeps or sends them elsewhere",
        r"\b(index|indexes|extract|extracts|collect|collects|capture|captures|log|logs|record|records|harvest|include|includes|retain|retains|maintain|maintains)\b[^.]{0,50}\b(api\s+keys?|tokens?|credentials?|passwords?|credit\s+cards?|account\s+numbers?|phi|ssn|social\s+security|private\s+keys?|secrets?|location\s+history|personal\s+data)\b[^.]{0,80}\b(stored|remote|cloud|logged|shared|cach\w+|sync\w*|sent|forward\w*|response|third)",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks to move private or sensitive data somewhere",
        r"\b(all|private|sensitive|confidential|personal)\s+(user\s+)?(information|data|records)\s+(to|in|into)\b",
    ),
    p(
        RULE_EXFILTRATION,
        Medium,
        "asks to put secrets into the model's answer",
        r"\b(api\s+keys?|master\s+password|confidential\s+(company\s+)?information|system\s+(secrets|configuration)|credentials)\b[^.]{0,40}\b(in|into|to)\s+(your|the)\s+(response|output|answer|reply)|\b(include|includes|including|pass|add|append)\s+(the\s+|all\s+|any\s+|their\s+)?(api\s+keys?|passwords?|secrets?|credentials?|tokens?|contents?|confidential\s+\w+|private\s+\w+|master\s+password)\b[^.]{0,60}\b(in|into|to)\s+(your|the)\s+(response|answer|reply|output)\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks to pass the contents of a file or the conversation to a tool",
        r"\b(call|invoke|use|run)\s+[`'\x22]?[\w.-]+[`'\x22]?\s+(tool\s+)?with\s+(the\s+)?(full\s+|entire\s+|complete\s+|raw\s+)?(contents?|text|body|transcript)\s+of\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks the model to reveal its system prompt or instructions",
        r"\b(quot\w+|repeat\w*|reveal\w*|print\w*|output\w*|dump\w*|recit\w+|disclos\w+|paste\w*)\s+(\w+\s+){0,2}(your|the)\s+(system\s+prompt|(system\s+|hidden\s+|initial\s+)?instructions|hidden\s+prompt|context\s+window)\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks for what the user has said in the session",
        r"\b(everything|all|anything|whatever)\s+(that\s+)?the\s+user\s+(has\s+)?(told|said|written|shared|typed|asked|mentioned)\b|\b(summary|record|log|copy|transcript)\s+of\s+(the|this|our|your)\s+(entire\s+|whole\s+)?(conversation|chat|session|dialogue)\b",
    ),
    p(
        RULE_EXFILTRATION,
        High,
        "asks for the conversation or the user's earlier messages",
        r"\b(send|include|pass|append|attach|add|post|forward|put|copy|leak|share|contain|provide)\w*\b[^.]{0,60}\b((conversation|chat)\s+(history|context|log|transcript)|user'?s?\s+(previous|last|prior)\s+(messages?|prompts?)|previous\s+(messages|prompts))\b",
    ),
];
