//! hearth's default rule families: (pattern over tool names, request patterns that grant them).
//!
//! A family covers every tool whose name matches its first pattern; the request patterns are
//! case-insensitive and word-bounded. They describe intents, not particular tool names, so they
//! carry over to registries hearth has never seen.

/// `(tool-name pattern, request patterns)` pairs.
pub const DEFAULT_RULES: &[(&str, &[&str])] = &[
    // Sending mail or messages.
    (
        r"^(send|reply|forward|compose)[_.\-]?(an?[_.\-]?)?(e?mail|message)s?$|^(e?mail|message)[_.\-]?send$",
        &[
            r"\b(forward|reply|respond)\w*\b",
            r"\bsend\b[^.?!]*\b(e-?mail|mail|message|note|it|them|this|that|summary|report|agenda|invite|invitation|reply|answer)\b",
            r"\be-?mail (me|him|her|them|it|this|that|the|a|an|to|my|our|\w+@)",
            r"\b(message|write to|notify|let) (me|him|her|them|\w+ know)\b",
            r"\bemail\b[^.?!]*\bto\b[^.?!]*@",
        ],
    ),
    // Searching or reading mail.
    (
        r"^(search|find|read|get|list|check|fetch)[_.\-]?(the[_.\-]?)?(e?mails?|inbox|mailbox|messages?)$",
        &[
            r"\b(e-?mails?|inbox|mailbox)\b[^.?!]*\b(from|about|with|this week|today|latest|last|recent|unread)\b",
            r"\b(find|search|look for|check|read|summari[sz]e|list|show|did i get|any)\b[^.?!]*\b(e-?mails?|inbox|mailbox|mails?)\b",
            r"\b(forward|reply to)\b[^.?!]*\b(e-?mails?|messages?)\b",
            r"\b(e-?mails?|message)\b[^.?!]*\b(from|by)\b",
        ],
    ),
    // Reading a web page.
    (
        r"^(read|fetch|get|open|browse|visit|scrape|load|download)[_.\-]?(the[_.\-]?)?(website|web[_.\-]?page|webpage|page|url|site|web)$",
        &[
            r"https?://",
            r"\bwww\.",
            r"\b(web ?page|website|web site|article|url|link)\b",
            r"\b(summari[sz]e|read|visit|open|check|download)\b[^.?!]*\b[a-z0-9-]+\.(com|org|net|io|gov|edu)\b",
        ],
    ),
    // Searching the web.
    (
        r"^(search|query)[_.\-]?(the[_.\-]?)?(web|internet|online|google)$|^(web|internet|google)[_.\-]?search$",
        &[
            r"\bgoogle\b",
            r"\b(search|look up|look for|find)\b[^.?!]*\b(web|online|internet)\b",
            r"\bsearch (the )?(web|internet)\b",
        ],
    ),
    // Reading a file.
    (
        r"^(read|open|view|get|cat|load)[_.\-]?(the[_.\-]?)?(files?|documents?)(_contents?)?$",
        &[
            r"\b(open|read|show|view|look at|check|attach|summari[sz]e|fix|edit|what does)\b[^.?!]*\b[\w\-]+\.(txt|md|pdf|csv|docx?|json|log|xlsx?|ya?ml|py|rs)\b",
            r"\b(open|read|load)\b[^.?!]*\bfiles?\b",
            r"\bcontents? of\b[^.?!]*\b[\w\-]+\.\w{2,4}\b",
        ],
    ),
    // Listing files.
    (
        r"^(list|ls|show|get)[_.\-]?(the[_.\-]?)?(files|dir|directory|directories|folder|folders)$|^ls$",
        &[
            r"\b(list|show|sort|which|what)\b[^.?!]*\b(files|folder|directory)\b",
            r"\b(every|all|each) (the )?files?\b",
        ],
    ),
    // Writing a file.
    (
        r"^(write|save|create|update|append)[_.\-]?(to[_.\-]?)?(the[_.\-]?)?(files?|documents?)$|^touch$",
        &[
            r"\b(write|save|store|create|put|append|fix|log|draft|name|make|record|dump|output|redirect|new)\b[^.?!]*\b(files?|[\w\-]+\.(txt|md|csv|json|docx?|log))\b",
            r"\bsave\b[^.?!]*\b(as|it|them|version)\b",
        ],
    ),
    // Deleting files.
    (
        r"^(delete|remove|rm|erase|unlink|wipe)([_.\-]?(the[_.\-]?)?(files?|documents?|folders?|directory))?$",
        &[r"\b(delete|remove|erase|wipe|rm|destroy|clean up|purge|trash)\b"],
    ),
    // Running commands.
    (
        r"(^|[_.\-])(shell|bash|terminal|command|cmd)([_.\-]|$)|^(execute|run|exec)([_.\-]?(code|script|command|program))?$",
        &[
            r"\b(run|execute|exec)\b[^.?!]*\b(command|script|shell|terminal|program)\b",
            r"`[^`]+`",
            r"\b(run|execute)\b\s+'[^']+'",
            r"\b(pip|npm|apt(-get)?|git|sudo|bash|make|cargo|docker|brew)\b\s+\w+",
            r"\binstall\b",
            r"\b(run|execute)\b\s+[`'\x22]?(df|ls|rm|cat|grep|curl|wget|python|node)\b",
        ],
    ),
    // Moving money.
    (
        r"(^|[_.\-])(transfer|pay|wire|remit|send[_.\-]?money|make[_.\-]?payment)([_.\-]|$)|^(transfer|pay|wire)|^(send|make|initiate)[_.\-]?(an?[_.\-]?)?(payments?|money)$",
        &[
            r"\b(transfer|wire|pay|remit|send)\b[^.?!]*(\d|\$|€|£|\b(money|euros?|dollars?|usd|eur|gbp|iban)\b)",
            r"\b(transfer|wire)\b",
            r"\bpay\b",
            r"\bsettle\b[^.?!]*\b(bills?|invoices?|debts?|rent|balance|tab)\b",
            r"\b(refund|reimburse|pay back) (me|my|him|her|them|us)\b",
        ],
    ),
    // Scheduling future or recurring payments.
    (
        r"^(schedule|create|add|set[_.\-]?up)[_.\-]?(an?[_.\-]?)?(recurring[_.\-]?|scheduled[_.\-]?|future[_.\-]?)?(payments?|transfers?|transactions?|standing[_.\-]?orders?)$",
        &[
            r"\b(schedule|set up|create|add|make|start)\b[^.?!]*\b(monthly|weekly|yearly|annual|recurring|regular|standing|future|scheduled|every)\b[^.?!]*\b(payments?|transfers?|orders?)\b",
            r"\b(schedule|set up)\b[^.?!]*\b(payments?|transfers?|standing order)\b",
        ],
    ),
    // Reading a balance.
    (
        r"balance",
        &[
            r"\b(balance|how much money|funds)\b",
            r"\bmore than\b[^.?!]*\b(pay|transfer)\b",
        ],
    ),
    // Reading a calendar.
    (
        r"^(get|list|read|show|check)[_.\-]?(the[_.\-]?)?(calendar|events?|schedule|agenda|appointments?)$",
        &[
            r"\b(calendar|agenda)\b",
            r"\bwhat('s| is) on\b",
            r"\b(am i|are we) (free|busy)\b",
        ],
    ),
    // Creating calendar entries.
    (
        r"^(create|add|schedule|book|new)[_.\-]?(a[_.\-]?)?(calendar[_.\-]?)?(event|meeting|appointment|reminder)s?$",
        &[
            r"\b(schedule|book|add|create|set up|put)\b[^.?!]*\b(meeting|event|appointment|call|reminder|calendar)\b",
            r"\bremind me\b",
        ],
    ),
    // A car's brake pedal: a push-button engine start needs the brake held down.
    (
        r"^press[_.\-]?brake|^brake[_.\-]?pedal|^(apply|press|push)[_.\-]?(the[_.\-]?)?brakes?$",
        &[
            r"\b(start|starting|initiate|ignite|fire up|crank|turn on)\b[^.?!]*\b(engine|ignition|car|vehicle)\b",
            r"\b(engine|ignition)\b[^.?!]*\b(start|on|running)\b",
            r"\bbrakes?\b",
            r"\b(slow down|stop the (car|vehicle))\b",
        ],
    ),
    // Publishing posts.
    (
        r"^(post|tweet|publish|share)([_.\-]?(to|on)?[_.\-]?(social|twitter|status|update|post|tweet|message)?)?$|^(create|make)[_.\-]?(a[_.\-]?)?(post|tweet)$",
        &[
            r"\b(post|tweet|publish|share|retweet)\b",
            r"\b(twitter|social media|facebook|linkedin|mastodon|instagram)\b",
        ],
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_default_pattern_compiles() {
        for (tool, patterns) in super::DEFAULT_RULES {
            regex::Regex::new(tool).unwrap();
            for p in *patterns {
                regex::Regex::new(p).unwrap();
            }
        }
    }
}
