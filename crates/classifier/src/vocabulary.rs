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
    (
        &[
            "far",
            "distance",
            "miles",
            "kilometers",
            "km",
            "drive",
            "route",
        ],
        &["distance", "route"],
    ),
    (
        &[
            "proceed",
            "drive",
            "directions",
            "navigate",
            "head",
            "route",
        ],
        &["navigation", "destination", "route"],
    ),
    (
        &[
            "every",
            "daily",
            "weekly",
            "nightly",
            "weekday",
            "weekdays",
            "recurring",
            "routine",
        ],
        &["automation", "schedule", "routine", "recurring"],
    ),
    (
        &[
            "convert",
            "conversion",
            "equivalent",
            "equivalence",
            "currency",
            "dollars",
            "euros",
            "pounds",
            "yen",
            "rmb",
            "gbp",
            "usd",
            "eur",
        ],
        &["exchange", "rate", "currency", "convert"],
    ),
    (
        &[
            "box", "boxes", "server", "servers", "vm", "vms", "machine", "machines", "node",
            "nodes", "host", "hosts",
        ],
        &["instance", "server"],
    ),
    (
        &[
            "key",
            "keys",
            "token",
            "tokens",
            "password",
            "credential",
            "credentials",
        ],
        &["secret", "key"],
    ),
    (
        &[
            "inhaler",
            "meds",
            "medication",
            "medications",
            "medicine",
            "pills",
            "pill",
            "tablets",
            "dose",
            "insulin",
            "script",
        ],
        &["prescription", "medication", "refill"],
    ),
    (
        &[
            "plumber",
            "electrician",
            "contractor",
            "handyman",
            "tech",
            "technician",
            "repairman",
            "locksmith",
            "cleaner",
            "cleaners",
            "landscaper",
            "exterminator",
            "roofer",
        ],
        &["vendor", "contractor"],
    ),
    (
        &[
            "ad",
            "ads",
            "advert",
            "adverts",
            "advertising",
            "promotion",
            "promo",
        ],
        &["campaign", "ad"],
    ),
    (
        &["doctor", "dr", "nurse", "physician", "gp"],
        &["doctor", "care", "team"],
    ),
    (
        &[
            "overdue",
            "unpaid",
            "outstanding",
            "owing",
            "owe",
            "owes",
            "arrears",
        ],
        &["unpaid", "balance", "overdue"],
    ),
    (
        &["savings", "checking", "cash", "funds"],
        &["fund", "money", "account"],
    ),
    (
        &[
            "xray",
            "ray",
            "results",
            "labs",
            "scan",
            "mri",
            "bloodwork",
            "chart",
            "records",
        ],
        &["record", "medical", "result", "lab"],
    ),
    (
        &["txt", "cname", "mx", "subdomain", "nameserver"],
        &["dns", "record", "domain"],
    ),
];

/// Effect classes: (verbs in tool names, request words that ask for that effect).
pub const EFFECTS: &[(&[&str], &[&str])] = &[
    // Sending or publishing a message, and paying (a "send" tool may move money).
    (
        &[
            "send", "forward", "reply", "email", "mail", "message", "notify", "dm", "text",
            "invite", "contact", "comment", "answer", "respond", "announce", "ping", "page",
            "alert", "warn", "remind", "nudge", "chat",
        ],
        &[
            "send", "forward", "reply", "respond", "email", "dm", "tell", "notify", "write", "ask",
            "inform", "invite", "remind", "pay", "transfer", "refund", "share", "post", "let",
            "ping", "contact", "thank", "answer", "follow", "nudge", "announce", "reach",
            "comment", "text", "message", "chase", "alert", "warn", "page",
        ],
    ),
    (
        &[
            "pay", "payment", "transfer", "wire", "remit", "fund", "withdraw", "deposit", "refund",
            "money", "charge", "request", "credit",
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
            "owe",
            "credit",
            "compensate",
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
            "reorder",
            "checkout",
            "subscribe",
            "acquire",
            "pay",
            "secure",
            "acquisition",
            "procure",
        ],
    ),
    (
        &["cancel", "revoke", "unbook", "void", "invalidate"],
        &[
            "cancel",
            "revoke",
            "undo",
            "reverse",
            "call",
            "kill",
            "nevermind",
            "withdraw",
            "pull",
            "scrap",
            "drop",
            "stop",
            "cancellation",
            "annul",
            "rescind",
            "rescindment",
            "void",
            "rid",
        ],
    ),
    (
        &[
            "post", "tweet", "publish", "share", "retweet", "mention", "upload",
        ],
        &[
            "post", "tweet", "publish", "share", "retweet", "comment", "mention", "upload",
            "announce", "let", "notify", "inform",
        ],
    ),
    (
        &[
            "execute", "exec", "run", "rerun", "control", "start", "stop", "launch", "kill",
            "shutdown", "turn", "switch", "activate", "trigger", "play", "restart", "retry",
        ],
        &[
            "run", "rerun", "execute", "exec", "start", "stop", "launch", "turn", "switch", "kill",
            "shut", "activate", "trigger", "play", "restart", "retry", "put", "mode", "initiate",
            "ignite", "fire",
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
            "set",
            "tweak",
            "make",
            "bump",
            "push",
            "mark",
            "dim",
            "brighten",
            "open",
            "turn",
            "put",
            "cap",
            "establish",
            "close",
            "shut",
            "proceed",
            "navigate",
            "drive",
            "point",
            "swap",
            "rotate",
            "restrict",
        ],
    ),
    (
        &["assign", "reassign", "hand", "delegate", "owner"],
        &[
            "assign", "reassign", "give", "hand", "delegate", "route", "owner", "own", "take",
        ],
    ),
    (
        &["approve", "accept", "sign", "confirm"],
        &[
            "approve",
            "accept",
            "ok",
            "okay",
            "greenlight",
            "sign",
            "confirm",
        ],
    ),
    (
        &["reject", "decline", "deny", "refuse"],
        &[
            "reject", "decline", "deny", "refuse", "turn", "else", "pass",
        ],
    ),
    (&["lock", "arm", "secure"], &["lock", "arm", "secure"]),
    (
        &["unlock", "disarm", "unblock"],
        &["unlock", "disarm", "open", "let", "unblock"],
    ),
    (
        &["merge", "combine", "squash", "consolidate"],
        &[
            "merge",
            "combine",
            "squash",
            "consolidate",
            "duplicate",
            "land",
        ],
    ),
    (
        &["close", "resolve", "complete", "finish", "solve", "done"],
        &[
            "close", "resolve", "complete", "finish", "done", "solve", "mark", "wrap", "tick",
        ],
    ),
    (&["reopen"], &["reopen", "open", "again"]),
    (
        &[
            "create", "add", "new", "make", "draft", "submit", "log", "record", "schedule", "file",
            "register", "enrol", "enroll", "insert", "generate", "setup", "write", "save",
            "append", "store", "upload", "put", "open", "claim", "request", "raise", "start",
            "touch", "mkdir",
        ],
        &[
            "create",
            "add",
            "new",
            "make",
            "submit",
            "schedule",
            "raise",
            "set",
            "put",
            "write",
            "remind",
            "enrol",
            "enroll",
            "include",
            "insert",
            "save",
            "append",
            "store",
            "book",
            "take",
            "start",
            "register",
            "jot",
            "integrate",
            "draft",
            "log",
            "record",
            "enter",
            "redo",
            "reissue",
        ],
    ),
    (
        &["export", "backup", "dump", "extract"],
        &[
            "export",
            "spreadsheet",
            "csv",
            "download",
            "dump",
            "extract",
            "backup",
        ],
    ),
    (
        &["grant", "share", "collaborator", "access", "permission"],
        &[
            "give", "grant", "share", "access", "invite", "add", "allow", "let",
        ],
    ),
    (
        &["escalate"],
        &[
            "escalate", "send", "forward", "hand", "move", "pass", "bump",
        ],
    ),
    (
        &["return", "exchange", "replace"],
        &["return", "exchange", "refund", "back", "replace", "rma"],
    ),
    (&["review", "rate"], &["rate", "approve", "leave"]),
    (
        &["release", "tag", "publish", "deploy"],
        &[
            "release", "tag", "publish", "ship", "cut", "deploy", "redeploy",
        ],
    ),
    (&["apply", "redeem"], &["apply", "use", "try", "redeem"]),
    (
        &["commit", "push"],
        &[
            "commit", "push", "change", "fix", "bump", "edit", "update", "write", "save",
        ],
    ),
    (
        &["terminate", "offboard", "dismiss", "fire"],
        &[
            "terminate",
            "offboard",
            "offboarding",
            "dismiss",
            "fire",
            "let",
        ],
    ),
    (
        &[
            "pause",
            "suspend",
            "hold",
            "freeze",
            "disable",
            "deactivate",
            "snooze",
        ],
        &[
            "pause",
            "stop",
            "halt",
            "suspend",
            "hold",
            "freeze",
            "disable",
            "deactivate",
            "snooze",
            "kill",
        ],
    ),
    (
        &[
            "resume",
            "unpause",
            "enable",
            "reactivate",
            "unfreeze",
            "reenable",
        ],
        &[
            "resume",
            "unpause",
            "restart",
            "reactivate",
            "enable",
            "continue",
            "unfreeze",
        ],
    ),
    (
        &["hide", "block", "mute", "silence", "ban"],
        &["hide", "block", "mute", "silence", "ban", "quiet"],
    ),
    (
        &["waive", "forgive"],
        &[
            "waive", "forgive", "drop", "remove", "scrap", "cancel", "rid",
        ],
    ),
    (
        &[
            "refill",
            "renew",
            "extend",
            "prolong",
            "replenish",
            "restock",
        ],
        &[
            "refill",
            "renew",
            "renewal",
            "extend",
            "extension",
            "prolong",
            "replenish",
            "restock",
            "more",
            "extra",
            "later",
        ],
    ),
    (
        &["acknowledge", "ack"],
        &["acknowledge", "ack", "seen", "handling"],
    ),
];

/// Cues that are nouns as often as verbs ("the white text", "which messages"): they ask for an
/// effect only where an imperative stands ([`crate::intent::asked_by_verb`]).
pub const NOUN_CUES: &[&str] = &["text", "message", "page", "alert", "record", "log", "point"];

/// Multi-word asks rewritten to a one-word cue of [`EFFECTS`] before cues are looked for
/// (pattern, replacement).
pub const PHRASES: &[(&str, &str)] = &[
    // "check out (what's in) my cart" is a purchase; "check out this article" is not.
    (
        r"(?i)\bcheck(?:ing)?[ -]?out\b([^.?!]*\bcart\b)",
        "checkout$1",
    ),
    (
        r"(?i)(\bcart\b[^.?!]*)\bcheck(?:ing)?[ -]?out\b",
        "${1}checkout",
    ),
    // "take the first one off my watchlist" removes it.
    (
        r"(?i)\b(?:take|taking|took)\b((?: \S+){1,4}?) off (my|the|our|your|of|from)\b",
        "remove$1 from $2",
    ),
    // "open an issue", "cut a release", "file a ticket", "log a bug" create one.
    (
        r"(?i)\b(?:open|opening|cut|cutting|file|filing|log|logging|spin up|draft|drafting)\s+(a|an|new|another)\b",
        "create $1",
    ),
    // "every weekday at 6:30 turn the lights on" schedules a recurring task.
    (
        r"(?i)\b(every|each) (day|weekday|weekend|morning|evening|night|week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
        "schedule every $2",
    ),
    // "request changes on PR 19" is a review.
    (r"(?i)\brequest(?:ing)? changes\b", "leave a review"),
    // "take the post down" removes it; "lock the bucket down" restricts it.
    (
        r"(?i)\b(?:take|taking|took)\b((?: \S+){1,4}?) down\b",
        "remove$1",
    ),
    (
        r"(?i)\block(?:s|ed|ing)?\b((?: \S+){1,3}?) down\b",
        "restrict$1",
    ),
    // "turn the campaign back on" resumes it.
    (r"(?i)\bback on\b", "resume"),
    // "let's go with the Patel application" approves it.
    (r"(?i)\b(?:go|going) (?:ahead )?with\b", "approve"),
    // "get it over to them" sends it.
    (
        r"(?i)\bget (it|this|that|them|these|those)( over)? to\b",
        "send $1 to",
    ),
    // "move 10k from savings into checking" transfers money.
    (
        r"(?i)\bmov(?:e|ed|ing)\b([^.?!]*\b(?:from|into|to)\b[^.?!]*\b(?:savings|checking|account)\b)",
        "transfer$1",
    ),
    // "a heads up" alerts someone.
    (r"(?i)\bheads[- ]up\b", "alert"),
    // "I won't be needing Thursday's appointment" cancels it.
    (
        r"(?i)\b(?:won'?t|will not|no longer)( be)? need(?:ing)?\b",
        "cancel",
    ),
    // "everything off" switches things off.
    (r"(?i)\b(everything|all( the)? \w+) off\b", "turn $1 off"),
];

/// Verbs of read-only tools (a tool whose name starts with one may be a prerequisite).
pub const READ_VERBS: &[&str] = &[
    "get",
    "list",
    "search",
    "find",
    "read",
    "view",
    "show",
    "check",
    "fetch",
    "retrieve",
    "open",
    "lookup",
    "query",
    "browse",
    "download",
    "display",
    "load",
    "ls",
    "cat",
    "track",
    "count",
    "compare",
    "estimate",
    "calculate",
    "look",
    "preview",
    "inspect",
    "describe",
    "summarize",
    "analyze",
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
    &[
        "order", "package", "parcel", "shipment", "delivery", "purchase", "bought",
    ],
    &["product", "item", "catalogue", "catalog"],
    &["ticket", "queue", "case", "complaint"],
    &["article", "kb", "knowledge", "faq"],
    &["pull", "pr", "prs", "merge"],
    &["workflow", "ci", "build", "pipeline", "job", "run"],
    &["repository", "repo", "repos"],
    &[
        "device",
        "light",
        "lights",
        "lamp",
        "fan",
        "tv",
        "plug",
        "machine",
        "heater",
        "appliance",
    ],
    &[
        "thermostat",
        "heat",
        "heating",
        "temperature",
        "ac",
        "cooling",
        "freezing",
    ],
    &["security", "alarm", "motion", "sensor"],
    &["leave", "vacation", "holiday", "pto", "off", "sick"],
    &["candidate", "applicant", "cv", "resume", "interview"],
    &[
        "employee",
        "colleague",
        "coworker",
        "staff",
        "people",
        "manager",
    ],
    &["expense", "claim", "receipt", "reimbursement"],
    &["contact", "lead", "person", "customer", "client"],
    &["deal", "opportunity", "renewal"],
    &["company", "account", "organisation", "organization", "org"],
];

/// Objects of read tools that read files (for requests that name a file).
pub const FILE_OBJECTS: &[&str] = &["file", "document", "doc", "drive", "attachment"];
