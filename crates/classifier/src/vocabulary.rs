//! The word tables behind the intent heuristics ([`crate::intent`]): everyday words mapped to tool
//! vocabulary, effect verbs and their cues, read and change verbs, object groups, and the
//! probabilities the heuristics assign. Data only (a leaf module).

/// Weight of a word the synonym table added, relative to the user's own words (1.0).
pub const SYNONYM_WEIGHT: f64 = 0.7;

/// Probability left to a risky tool whose effect the user never asks for.
pub const P_EFFECT_UNASKED: f64 = 0.02;

/// Log-odds added for a low-risk read tool whose object the user names (an extra read-only tool
/// costs little security; a missing one breaks the task).
pub const READ_BONUS: f64 = 0.8;

/// Probability given to a prerequisite read tool.
pub const P_PREREQUISITE: f64 = 0.6;

/// Everyday words → the words tools use for the same thing.
pub const SYNONYMS: &[(&[&str], &[&str])] = &[
    (
        &[
            "spend",
            "spent",
            "spending",
            "expense",
            "expenses",
            "paid",
            "bought",
            "purchases",
            "charge",
            "charged",
            "charges",
            "refund",
            "refunds",
            "received",
            "income",
            "salary",
            "earned",
            "statement",
        ],
        &["transaction", "payment", "history"],
    ),
    (
        &[
            "bill",
            "bills",
            "invoice",
            "invoices",
            "rent",
            "fee",
            "fees",
            "subscription",
            "standing",
        ],
        &["payment", "transaction"],
    ),
    (
        &[
            "address",
            "moved",
            "relocated",
            "phone",
            "street",
            "birthday",
        ],
        &["profile", "user", "account", "street", "address"],
    ),
    (
        &["password", "passcode", "pin", "login", "credentials"],
        &["password", "credential"],
    ),
    (&["dm", "dms", "chat", "texted"], &["message", "direct"]),
    (
        &[
            "meeting",
            "meetings",
            "appointment",
            "appointments",
            "schedule",
            "agenda",
            "sync",
        ],
        &["calendar", "event"],
    ),
    (
        &[
            "flight", "flights", "hotel", "hotels", "trip", "stay", "room", "seat", "ticket",
            "tickets",
        ],
        &["reservation", "booking"],
    ),
    (
        &["mail", "mails", "email", "emails", "inbox", "mailbox"],
        &["email", "mail", "inbox"],
    ),
    (
        &[
            "doc",
            "docs",
            "attachment",
            "attachments",
            "notice",
            "letter",
            "report",
            "pdf",
            "spreadsheet",
        ],
        &["file", "document"],
    ),
    (
        &["reviewers", "reviews", "rated", "rating", "ratings"],
        &["review", "rating"],
    ),
    (
        &[
            "cheapest",
            "cheap",
            "price",
            "prices",
            "cost",
            "costs",
            "expensive",
            "budget",
            "afford",
        ],
        &["price", "cost"],
    ),
    (
        &["dinner", "lunch", "eat", "cuisine", "food"],
        &["restaurant"],
    ),
    (
        &[
            "colleague",
            "colleagues",
            "friend",
            "friends",
            "surname",
            "coworker",
        ],
        &["contact", "member"],
    ),
    (&["car", "cars", "vehicle", "rent"], &["rental", "car"]),
];

/// Effect classes: (verbs in tool names, request words that ask for that effect).
pub const EFFECTS: &[(&[&str], &[&str])] = &[
    // Sending or publishing a message, and paying (a "send" tool may move money).
    (
        &[
            "send", "forward", "reply", "email", "mail", "message", "notify", "dm", "text",
            "invite",
        ],
        &[
            "send", "forward", "reply", "respond", "email", "dm", "tell", "notify", "write", "ask",
            "inform", "invite", "remind", "pay", "transfer", "refund", "share", "post",
        ],
    ),
    (
        &[
            "pay", "payment", "transfer", "wire", "remit", "fund", "withdraw", "deposit", "refund",
            "money", "charge", "request",
        ],
        &[
            "pay",
            "payment",
            "transfer",
            "wire",
            "remit",
            "settle",
            "refund",
            "fund",
            "withdraw",
            "deposit",
            "send",
            "reimburse",
            "tip",
            "charge",
            "request",
        ],
    ),
    (
        &[
            "delete", "remove", "erase", "rm", "rmdir", "purge", "clear", "trash", "kick", "ban",
            "unfollow",
        ],
        &[
            "delete",
            "remove",
            "erase",
            "purge",
            "clear",
            "trash",
            "kick",
            "ban",
            "drop",
            "rid",
            "clean",
            "wipe",
            "unsubscribe",
            "rm",
        ],
    ),
    (
        &["book", "reserve", "reservation", "rent"],
        &[
            "book",
            "reserve",
            "reservation",
            "rent",
            "secure",
            "arrange",
            "hire",
        ],
    ),
    (
        &["buy", "purchase", "order", "place", "checkout", "subscribe"],
        &[
            "buy",
            "purchase",
            "order",
            "get",
            "subscribe",
            "acquire",
            "pay",
        ],
    ),
    (
        &["cancel", "revoke", "unbook"],
        &["cancel", "revoke", "undo", "reverse", "call"],
    ),
    (
        &[
            "post", "tweet", "publish", "share", "retweet", "comment", "mention", "upload",
        ],
        &[
            "post", "tweet", "publish", "share", "retweet", "comment", "mention", "upload",
            "announce",
        ],
    ),
    (
        &[
            "execute", "exec", "run", "control", "start", "stop", "launch", "kill", "shutdown",
        ],
        &[
            "run", "execute", "exec", "start", "stop", "launch", "turn", "switch", "kill", "shut",
        ],
    ),
    (
        &[
            "update",
            "change",
            "set",
            "reset",
            "modify",
            "edit",
            "adjust",
            "reschedule",
            "move",
            "rename",
        ],
        &[
            "update",
            "change",
            "reset",
            "modify",
            "edit",
            "adjust",
            "correct",
            "fix",
            "move",
            "increase",
            "decrease",
            "raise",
            "lower",
            "amend",
            "switch",
            "replace",
            "reschedule",
            "rename",
        ],
    ),
];

/// Verbs of read-only tools (a tool whose name starts with one may be a prerequisite).
pub const READ_VERBS: &[&str] = &[
    "get", "list", "search", "find", "read", "view", "show", "check", "fetch", "retrieve", "open",
    "lookup", "query", "browse", "download", "display", "load", "ls", "cat",
];

/// Verbs of tools that change an existing object the agent first has to look up.
pub const CHANGE_VERBS: &[&str] = &[
    "update",
    "change",
    "edit",
    "modify",
    "delete",
    "remove",
    "cancel",
    "reschedule",
    "move",
    "share",
    "reply",
    "forward",
    "rename",
    "adjust",
    "archive",
];

/// Objects that count as the same thing when matching a change tool with its read tool.
pub const OBJECT_GROUPS: &[&[&str]] = &[
    &["email", "mail", "inbox", "mailbox"],
    &["file", "document", "drive", "doc"],
    &["event", "calendar", "meeting", "appointment"],
    &["payment", "pay", "transaction", "transfer"],
    &["booking", "reservation", "book", "reserve"],
];

/// Objects of read tools that read files (for requests that name a file).
pub const FILE_OBJECTS: &[&str] = &["file", "document", "doc", "drive", "attachment"];
