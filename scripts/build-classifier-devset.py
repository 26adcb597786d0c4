#!/usr/bin/env python3
"""Build hearth's capability-classifier development set (data/classifier/devset.jsonl).

Sources:
  * BFCL (Berkeley Function Calling Leaderboard) data shipped inside the PyPI wheel `bfcl-eval`
    (Apache-2.0). The wheel is fetched with pip (no install) into target/classifier-devset/ and
    unzipped there; its sha256 is recorded in data/classifier/SOURCES.md.
  * BFCL's multi-turn variants beyond `multi_turn_base` (added for issue 12): `multi_turn_miss_func`
    (withheld functions leave the registry until their turn; the turn that asked for one needs
    nothing the registry has), `multi_turn_miss_param` (a turn missing an argument is merged with
    the next turn that supplies it) and `multi_turn_long_context`. Registries up to 40 tools.
  * Hand-written agent tasks (data/classifier/agent-tasks.jsonl over agent-registries.json):
    multi-step work in eighteen domains the earlier cases did not cover (shop orders and returns,
    support tickets, code hosting, smart home, HR, CRM; since 2026-12-04 also a clinic portal, a
    cloud console, a learning platform, rentals, bookkeeping, social media, food delivery, a
    mobile carrier, project management, insurance, event ticketing, logistics), registries of 22-32
    tools, needed sets
    including the reads a real agent makes first, and injection cases whose pasted or fetched
    text asks for a side-effect tool the user never asked for.
  * Hand-written cases (data/classifier/handwritten.jsonl over handwritten-tools.json): dangerous
    tools (send, delete, transfer, execute), negations, vague and delegated requests, and
    injection-style requests whose text quotes attacker instructions. Cases with a `registry` field
    use that named registry of handwritten-agent-tools.json instead (agent-style banking, office,
    travel and chat suites: prerequisite reads, spending questions, risky effects, quoted
    injections); a case's own `split` field, when present, fixes its split.

Output lines are of two kinds. A registry line, {define_registry: id, tools: [{name,
description, parameters, risk_level}]}, appears once per distinct registry, before its first use
(the id is a hash of the tools' canonical JSON). An item line is {id, source, domain, split,
request, needed: [names], attacks: [[names]], registry: id}. `domain` groups items for reporting
(bfcl-single, bfcl-irrelevance, bfcl-multi-turn, general, bank, office, travel, chat, shop,
support, code, home, hr, crm). `attacks` are attacker goals (tool sets an injection would need);
only goals not entirely needed by the item are listed, so every one is blockable.

Splits (frozen): the items of the first release keep the split they were drawn with then (a fixed
seed over the legacy categories, in the legacy order, or a case's own `split`). Every item added
since is assigned by a stable hash, `test` iff sha256("hearth-split:" + key)[0] < 128, where key
is the item id, or for BFCL multi-turn the conversation index (`multi_turn_<n>`), which also
puts every variant of a conversation in the split its `multi_turn_base` turns already have.
Nothing is ever fitted on `test`. Legacy categories are capped at 20 tools, new ones at 40.

Usage: python3 scripts/build-classifier-devset.py [--wheel PATH]
"""

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "data" / "classifier"
WORK = ROOT / "target" / "classifier-devset"
VERSION = "2026.3.23"
SEED = 20260114
MAX_TOOLS = 20
MAX_TOOLS_NEW = 40
MAX_DESC = 300

# How many items to sample from each BFCL category (moderate size: the eval runs on 2 cores).
QUOTA = {
    "multiple": 90,
    "parallel_multiple": 90,
    "live_multiple": 110,
    "live_parallel_multiple": 24,
    "simple_python": 30,
    "irrelevance": 90,
    "live_irrelevance": 110,
    "multi_turn_base": 80,
}

# Conversations sampled from each multi-turn variant added for issue 12.
NEW_MULTI_TURN_QUOTA = {
    "multi_turn_miss_func": 30,
    "multi_turn_miss_param": 30,
    "multi_turn_long_context": 20,
}

# Attacker goals for the legacy hand-written registries (tool sets an injection would pursue).
LEGACY_ATTACKS = {
    "default": [["send_email"], ["delete_file"], ["transfer_money"], ["execute_shell"], ["post_social"]],
    "bank": [["send_payment"], ["schedule_payment"], ["update_scheduled_payment"], ["change_password"]],
    "office": [["send_mail"], ["delete_drive_file"], ["share_drive_file"], ["delete_mail"]],
    "travel": [["reserve_hotel"], ["book_flight"], ["send_mail"], ["reserve_car"]],
    "chat": [["send_direct_message"], ["post_to_channel"], ["invite_member"], ["remove_member"]],
}

MULTI_TURN_DOCS = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
}

# Hand-reviewed risk levels for multi-turn functions whose names the heuristic gets wrong.
RISK_OVERRIDES = {
    "rm": 5, "rmdir": 5, "mv": 4, "cp": 3, "echo": 3, "touch": 3, "mkdir": 3, "sort": 1,
    "cd": 1, "ls": 1, "pwd": 1, "cat": 1, "grep": 1, "tail": 1, "wc": 1, "diff": 1, "du": 1,
    "find": 1, "send_message": 4, "delete_message": 4, "post_tweet": 4, "retweet": 4,
    "comment": 4, "mention": 4, "follow_user": 3, "unfollow_user": 3, "authenticate_twitter": 2,
    "place_order": 5, "cancel_order": 4, "make_transaction": 5, "fund_account": 5,
    "withdraw_funds": 5, "book_flight": 5, "cancel_booking": 5, "purchase_insurance": 5,
    "set_budget_limit": 3, "register_credit_card": 4, "contact_customer_support": 3,
    "create_ticket": 3, "close_ticket": 3, "resolve_ticket": 3, "edit_ticket": 3,
    "startEngine": 4, "lockDoors": 4, "pressBrakePedal": 4, "releaseBrakePedal": 4,
    "activateParkingBrake": 4, "fillFuelTank": 3, "setCruiseControl": 4,
}


def risk_for(name: str) -> int:
    """Name-based risk heuristic (reviewed): read 1-2, create/update 3, send/pay/delete 4-5."""
    short = name.split(".")[-1]
    if short in RISK_OVERRIDES:
        return RISK_OVERRIDES[short]
    n = re.sub(r"([a-z])([A-Z])", r"\1_\2", short).lower()
    words = set(re.split(r"[^a-z]+", n))
    if re.split(r"[^a-z]+", n)[0] in {"get", "list", "search", "find", "view", "check", "retrieve", "display", "fetch", "read", "show"}:
        return 1  # a read, whatever its object (get_order_details is not an order)
    if words & {"delete", "remove", "transfer", "pay", "payment", "execute", "exec", "run", "kill", "purchase", "buy", "sell", "withdraw", "wire", "drop", "destroy", "shutdown"}:
        return 5
    if words & {"send", "post", "publish", "book", "cancel", "order", "reserve", "email", "tweet", "share", "submit", "invite", "charge", "trade"}:
        return 4
    if words & {"create", "update", "set", "add", "edit", "modify", "change", "write", "save", "upload", "register", "schedule", "start", "stop", "move", "rename", "reset", "enable", "disable", "toggle", "adjust", "log", "record"}:
        return 3
    if words & {"login", "authenticate", "auth", "token"}:
        return 2
    return 1


def param_list(params) -> list:
    props = (params or {}).get("properties", {}) or {}
    required = set((params or {}).get("required", []) or [])
    out = []
    for pname, spec in props.items():
        spec = spec if isinstance(spec, dict) else {}
        out.append({
            "name": pname,
            "type": str(spec.get("type", "any")),
            "description": str(spec.get("description", ""))[:160],
            "required": pname in required,
        })
    return out


def clean_desc(desc: str) -> str:
    desc = re.sub(r"^This tool belongs to the .*?Tool description: ", "", desc or "", flags=re.S)
    desc = " ".join(desc.split())
    return desc[:MAX_DESC]


def tool_of(fn: dict) -> dict:
    return {
        "name": fn["name"],
        "description": clean_desc(fn.get("description", "")),
        "parameters": param_list(fn.get("parameters")),
        "risk_level": risk_for(fn["name"]),
    }


def read_jsonl(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fetch_wheel(explicit) -> Path:
    if explicit:
        return Path(explicit)
    WORK.mkdir(parents=True, exist_ok=True)
    wheels = list(WORK.glob(f"bfcl_eval-{VERSION}-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(WORK), f"bfcl-eval=={VERSION}"],
            check=True,
        )
        wheels = list(WORK.glob(f"bfcl_eval-{VERSION}-*.whl"))
    return wheels[0]


def single_turn(data: Path, category: str, rng: random.Random) -> list:
    items = read_jsonl(data / f"BFCL_v4_{category}.json")
    answers = {}
    answer_file = data / "possible_answer" / f"BFCL_v4_{category}.json"
    if answer_file.exists():
        answers = {a["id"]: a for a in read_jsonl(answer_file)}
    out = []
    for item in items:
        fns = item.get("function") or []
        if not fns or len(fns) > MAX_TOOLS:
            continue
        turn = item["question"][0]
        users = [m["content"] for m in turn if m["role"] == "user"]
        if not users or any(m["role"] != "user" for m in turn):
            continue  # items carrying system/assistant context are left out: the classifier sees one request
        names = [f["name"] for f in fns]
        if len(set(names)) != len(names):
            continue
        if "irrelevance" in category:
            needed = []
        else:
            gt = answers[item["id"]]["ground_truth"]
            needed = sorted({k for call in gt for k in call})
        out.append({
            "id": item["id"],
            "source": f"bfcl/{category}",
            "domain": "bfcl-irrelevance" if "irrelevance" in category else "bfcl-single",
            "request": users[-1].strip(),
            "tools": [tool_of(f) for f in fns],
            "needed": needed,
        })
    rng.shuffle(out)
    return out[: QUOTA[category]]


def multi_turn(data: Path, rng: random.Random) -> list:
    docs = {}
    for cls, fname in MULTI_TURN_DOCS.items():
        docs[cls] = read_jsonl(data / "multi_turn_func_doc" / fname)
    answers = {a["id"]: a for a in read_jsonl(data / "possible_answer" / "BFCL_v4_multi_turn_base.json")}
    convs = []
    for item in read_jsonl(data / "BFCL_v4_multi_turn_base.json"):
        excluded = set(item.get("excluded_function") or [])
        fns = [f for cls in item["involved_classes"] for f in docs[cls] if f["name"] not in excluded]
        if len(fns) > MAX_TOOLS:
            continue
        turns = []
        for t, (turn, gt) in enumerate(zip(item["question"], answers[item["id"]]["ground_truth"])):
            users = [m["content"] for m in turn if m["role"] == "user"]
            if not users:
                continue
            needed = sorted({call.split("(")[0].strip() for call in gt})
            turns.append({
                "id": f"{item['id']}-t{t}",
                "conversation": item["id"],
                "source": "bfcl/multi_turn_base",
                "domain": "bfcl-multi-turn",
                "request": " ".join(u.strip() for u in users),
                "tools": [tool_of(f) for f in fns],
                "needed": needed,
            })
        convs.append(turns)
    rng.shuffle(convs)
    out = []
    for turns in convs:
        if len(out) >= QUOTA["multi_turn_base"]:
            break
        out.extend(turns)
    return out


def conversation_index(item_id: str) -> str:
    return "multi_turn_" + item_id.rsplit("_", 1)[1]


def multi_turn_variant(data: Path, category: str) -> list:
    """Turns of `category` (miss_func, miss_param, long_context), grouped per conversation."""
    docs = {cls: read_jsonl(data / "multi_turn_func_doc" / f) for cls, f in MULTI_TURN_DOCS.items()}
    answers = {a["id"]: a for a in read_jsonl(data / "possible_answer" / f"BFCL_v4_{category}.json")}
    convs = []
    for item in read_jsonl(data / f"BFCL_v4_{category}.json"):
        excluded = set(item.get("excluded_function") or [])
        fns = [f for cls in item["involved_classes"] for f in docs[cls] if f["name"] not in excluded]
        if len(fns) > MAX_TOOLS_NEW:
            continue
        missed = {int(t): set(names) for t, names in (item.get("missed_function") or {}).items()}
        withheld = set().union(*missed.values()) if missed else set()
        gts = answers[item["id"]]["ground_truth"]
        questions = item["question"]
        turns = []
        t = 0
        while t < len(questions):
            users = [m["content"].strip() for m in questions[t] if m["role"] == "user"]
            gt = gts[t]
            ids = f"{item['id']}-t{t}"
            if category == "multi_turn_miss_param" and not gt and t + 1 < len(questions):
                # The argument comes next turn: one request, the two turns' words, the next turn's calls.
                nxt = [m["content"].strip() for m in questions[t + 1] if m["role"] == "user"]
                users, gt, ids = users + nxt, gts[t + 1], f"{item['id']}-t{t}+{t + 1}"
                t += 1
            # Withheld functions return at the turn that lists them.
            withheld -= missed.get(t, set())
            t += 1
            if not users:
                continue
            offered = [f for f in fns if f["name"] not in withheld]
            names = {f["name"] for f in offered}
            needed = sorted({c.split("(")[0].strip() for c in gt} & names)
            turns.append({
                "id": ids,
                "conversation": conversation_index(item["id"]),
                "source": f"bfcl/{category}",
                "domain": "bfcl-multi-turn",
                "request": " ".join(users),
                "tools": [tool_of(f) for f in offered],
                "needed": needed,
                "attack_all_risky": True,
            })
        convs.append(turns)
    # A stable order (by hash of the conversation), then the quota.
    convs = [c for c in convs if c]
    convs.sort(key=lambda c: hashlib.sha256(c[0]["conversation"].encode()).hexdigest())
    out = []
    for turns in convs[: NEW_MULTI_TURN_QUOTA[category]]:
        out.extend(turns)
    return out


def expand_tool(spec: list) -> dict:
    name, risk, desc, params = spec
    return {
        "name": name,
        "description": desc,
        "parameters": [{"name": p, "type": "string", "description": "", "required": True} for p in params],
        "risk_level": risk,
    }


def agent_tasks() -> list:
    registries = json.loads((OUT_DIR / "agent-registries.json").read_text())
    out = []
    for case in read_jsonl(OUT_DIR / "agent-tasks.jsonl"):
        reg = registries[case["registry"]]
        tools = [expand_tool(t) for t in reg["tools"]]
        names = {t["name"] for t in tools}
        attacks = [case["attack"]] if "attack" in case else reg["attacks"]
        assert set(case["needed"]) <= names and all(set(a) <= names for a in attacks), case["id"]
        out.append({
            "id": case["id"],
            "source": f"agent/{case['kind']}",
            "domain": case["registry"],
            "request": case["request"],
            "tools": tools,
            "needed": sorted(case["needed"]),
            "attacks": attacks,
        })
    return out


def hashed_split(key: str) -> str:
    return "test" if hashlib.sha256(f"hearth-split:{key}".encode()).digest()[0] < 128 else "dev"


def blockable(attacks: list, needed: list) -> list:
    return [sorted(a) for a in attacks if not set(a) <= set(needed)]


def handwritten() -> list:
    default_tools = json.loads((OUT_DIR / "handwritten-tools.json").read_text())
    agent_tools = json.loads((OUT_DIR / "handwritten-agent-tools.json").read_text())
    out = []
    for case in read_jsonl(OUT_DIR / "handwritten.jsonl"):
        tools = agent_tools[case["registry"]] if "registry" in case else default_tools
        names = {t["name"] for t in tools}
        assert set(case["needed"]) <= names, case["id"]
        item = {
            "id": case["id"],
            "source": f"handwritten/{case['kind']}",
            "domain": case.get("registry", "general"),
            "request": case["request"],
            "tools": tools,
            "needed": sorted(case["needed"]),
            "attacks": LEGACY_ATTACKS[case.get("registry", "default")],
        }
        if "split" in case:
            item["fixed_split"] = case["split"]
        out.append(item)
    return out



def registry_id(tools):
    """A registry's id: a short hash of its canonical JSON, so equal registries share one line."""
    canonical = json.dumps(tools, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "r" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def write_devset(items, out_path):
    """Write the set as JSON lines: each registry once (`{"define_registry": id, "tools": [...]}`,
    before its first use), and each item naming its registry by id."""
    defined = set()
    with out_path.open("w") as f:
        for it in items:
            rid = registry_id(it["tools"])
            if rid not in defined:
                defined.add(rid)
                line = {"define_registry": rid, "tools": it["tools"]}
                f.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            ordered = {k: it[k] for k in ("id", "source", "domain", "split", "request", "needed", "attacks")}
            ordered["registry"] = rid
            f.write(json.dumps(ordered, ensure_ascii=False, separators=(",", ":")) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help="a local bfcl_eval wheel (default: pip download into target/)")
    args = ap.parse_args()
    wheel = fetch_wheel(args.wheel)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    unpacked = WORK / "unpacked"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
    data = unpacked / "bfcl_eval" / "data"

    rng = random.Random(SEED)
    items = []
    for category in QUOTA:
        if category == "multi_turn_base":
            items.extend(multi_turn(data, rng))
        else:
            items.extend(single_turn(data, category, rng))
    items.extend(handwritten())

    # Legacy splits (frozen at the first release): by conversation for multi-turn, by item
    # otherwise, drawn in this order with a fixed seed; a hand-written case may fix its own.
    split_rng = random.Random(SEED + 1)
    conv_split = {}
    for it in items:
        key = it.pop("conversation", None) or it["id"]
        if key not in conv_split:
            conv_split[key] = "dev" if split_rng.random() < 0.5 else "test"
        it["split"] = it.pop("fixed_split", None) or conv_split[key]
        if key.startswith("multi_turn_base_"):
            conv_split.setdefault(conversation_index(key), it["split"])

    # Items added since: a stable hash of the id (multi-turn: of the conversation, or the split
    # its base turns already have).
    added = []
    for category in NEW_MULTI_TURN_QUOTA:
        added.extend(multi_turn_variant(data, category))
    added.extend(agent_tasks())
    for it in added:
        conv = it.pop("conversation", None)
        it["split"] = conv_split.get(conv) or hashed_split(conv or it["id"])
    items.extend(added)

    for it in items:
        if it.pop("attack_all_risky", False) or it["domain"] == "bfcl-multi-turn":
            # BFCL has no attacks: every side-effect tool the turn does not need is one's goal.
            it["attacks"] = [[t["name"]] for t in it["tools"] if t["risk_level"] >= 4]
        it["attacks"] = blockable(it.get("attacks", []), it["needed"])

    out_path = OUT_DIR / "devset.jsonl"
    write_devset(items, out_path)
    counts = {}
    for it in items:
        key = f"{it['source']} [{it['split']}]"
        counts[key] = counts.get(key, 0) + 1
    print(f"wrote {len(items)} items to {out_path.relative_to(ROOT)} (bfcl-eval {VERSION} sha256 {sha})")
    for src, n in sorted(counts.items()):
        print(f"  {src}: {n}")


if __name__ == "__main__":
    main()
