"""Writes ``pii.jsonl``: the PII evaluation set (run from the repository root to regenerate).

Entity values are synthesised (valid checksums where the real thing has one: Luhn for cards,
mod-97 for IBANs, SSA rules for SSNs) and placed in sentences written for Airlock, so nothing
here is anyone's real data. Each line: ``{"text", "entities": [{"kind", "value"}], "note"}``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

R = random.Random(11)


def luhn_complete(prefix: str, length: int) -> str:
    digits = prefix + "".join(R.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


def iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in moved))
    return f"{country}{98 - number % 97:02d}{bban}"


def digits(n: int) -> str:
    return "".join(R.choice("0123456789") for _ in range(n))


def alnum(n: int) -> str:
    return "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(n))


def spaced(value: str, group: int = 4) -> str:
    return " ".join(value[i : i + group] for i in range(0, len(value), group))


def ssn() -> str:
    area = R.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


rows: list[dict] = []


def add(text: str, *entities: tuple[str, str], note: str = "") -> None:
    for _, value in entities:
        assert value in text, (value, text)
    rows.append({"text": text, "entities": [{"kind": k, "value": v} for k, v in entities], "note": note})


# ---------------------------------------------------------------- emails
emails = ["jane.doe@example.com", "bob+invoices@mail.example.org", "Priya.Nair@corp.example.co.uk", "j_smith42@example.net",
          "support@helpdesk.example.io", "KENJI.TANAKA@EXAMPLE.JP", "m.rossi@unimi.example.it", "first-last@sub.domain.example.com",
          "o'neil@example.ie", "finance.team@example.de", "a@b.co", "x.y.z@example.travel", "noreply-42@notifications.example.com",
          "chloe.martin@example.fr", "li.wei@example.cn", "ana-maria.pop@example.ro", "sales@example.shop", "dev@localhost.example.dev",
          "hr_department@example.org", "t.nguyen@example.com.au"]
templates = ["Please email {} for the contract.", "Contact: {}", "From: {}\nSubject: invoice", "Send the report to {} by Friday.",
             '{{"user": "{}", "active": true}}', "Reply-to <{}>", "cc {} on the thread", "Her address is {}."]
for i, e in enumerate(emails):
    add(templates[i % len(templates)].format(e), ("EMAIL", e))
add("Write to jane.doe@example.com or bob@example.org.", ("EMAIL", "jane.doe@example.com"), ("EMAIL", "bob@example.org"))

# ---------------------------------------------------------------- phones
us_areas = ["212", "415", "312", "617", "206", "305", "404", "512", "303", "702", "646", "213"]
phone_templates = ["Call me at {}.", "Phone: {}", "Mobile {} (after 6pm)", "You can reach the office on {}.",
                   "tel {} ext 12", '{{"phone": "{}"}}', "Text {} when you land.", "Fax: {}"]
phones = []
for i in range(14):
    a, ex, sub = R.choice(us_areas), str(R.randint(201, 989)), digits(4)
    phones.append([f"({a}) {ex}-{sub}", f"{a}-{ex}-{sub}", f"{a}.{ex}.{sub}", f"+1 {a} {ex} {sub}", f"+1-{a}-{ex}-{sub}", f"+1{a}{ex}{sub}"][i % 6])
phones += ["+44 20 7946 0958", "+44 7700 900123", "+49 30 901820", "+49 89 1234567", "+33 1 42 68 53 00", "+33 6 12 34 56 78",
           "+91 98765 43210", "+61 2 9374 4000", "+34 912 345 678", "+39 06 6982 0000", "+31 20 123 4567", "+55 11 3456-7890",
           "020 7946 0958", "030 901820"]
for i, p in enumerate(phones):
    add(phone_templates[i % len(phone_templates)].format(p), ("PHONE", p))
add("call 4155552671 tomorrow", ("PHONE", "4155552671"), note="bare digits with a cue")
add("My cell number is 6465550187.", ("PHONE", "6465550187"), note="bare digits with a cue")

# ---------------------------------------------------------------- credit cards
card_templates = ["Card number {} exp 04/29", "Charge it to {}.", "payment: {}", "The customer's Visa is {}.",
                  '{{"card": "{}", "cvv": "***"}}', "cc: {}"]
cards = []
for i, (prefix, length) in enumerate([("4", 16), ("51", 16), ("55", 16), ("34", 15), ("37", 15), ("6011", 16), ("4", 16), ("2221", 16)] * 3):
    number = luhn_complete(prefix, length)
    fmt = i % 3
    if fmt == 0:
        number = spaced(number) if length == 16 else f"{number[:4]} {number[4:10]} {number[10:]}"
    elif fmt == 1:
        number = "-".join(number[j : j + 4] for j in range(0, len(number), 4)) if length == 16 else number
    cards.append(number)
for i, c in enumerate(cards):
    add(card_templates[i % len(card_templates)].format(c), ("CREDIT_CARD", c))

# ---------------------------------------------------------------- IBANs
iban_values = []
for _ in range(4):
    iban_values += [iban("DE", digits(18)), iban("GB", "NWBK" + digits(14)), iban("NL", "ABNA" + digits(10)),
                    iban("ES", digits(20)), iban("FR", digits(10) + alnum(11) + digits(2))]
iban_templates = ["Please transfer to IBAN {}.", "IBAN: {}", "Beneficiary account {} (Berlin)", "wire the deposit to {}"]
for i, v in enumerate(iban_values):
    shown = spaced(v) if i % 2 == 0 else v
    add(iban_templates[i % len(iban_templates)].format(shown), ("IBAN", shown))

# ---------------------------------------------------------------- SSNs
ssn_templates = ["SSN: {}", "Her social security number is {}.", "ssn {} on file", "Employee SSN {} (verify with HR)",
                 '{{"ssn": "{}"}}', "The applicant's Social Security No. is {}"]
for i in range(22):
    value = ssn()
    if i % 5 == 4:
        value = value.replace("-", " ")
    add(ssn_templates[i % len(ssn_templates)].format(value), ("US_SSN", value))
for _ in range(3):
    value = ssn().replace("-", "")
    add(f"social security number {value}", ("US_SSN", value), note="bare digits with a cue")

# ---------------------------------------------------------------- IP addresses
ips = ["192.168.10.4", "10.0.0.17", "172.16.254.1", "8.8.8.8", "203.0.113.45", "198.51.100.7", "54.239.28.85", "127.0.0.1",
       "2001:db8::ff00:42:8329", "fe80::1ff:fe23:4567:890a", "2606:4700:4700::1111", "100.64.0.12", "91.198.174.192",
       "185.199.108.153", "::1", "140.82.112.3", "34.117.59.81", "13.107.42.14", "151.101.1.69", "23.45.67.89"]
ip_templates = ["The login came from {}.", "server {} is down", "allow traffic from {} only", '{{"client_ip": "{}"}}', "ping {}"]
for i, v in enumerate(ips):
    add(ip_templates[i % len(ip_templates)].format(v), ("IP_ADDRESS", v))

# ---------------------------------------------------------------- URLs
urls = ["https://example.org/reset?token=abc123", "http://evil.example/steal", "https://docs.example.com/guide#install",
        "www.example.net/profile/jane", "ftp://files.example.org/pub/data.csv", "https://bit.example.ly/3xYz",
        "https://example.com", "http://192.168.1.10:8080/admin", "https://shop.example.co.uk/cart?id=42",
        "example.com/invite/9f8e7d", "https://sub.example.io/a/b/c?x=1&y=2", "http://localhost:3000/debug",
        "https://calendar.example.com/event/123", "www.example.org", "s3://bucket-name/path/to/object",
        "https://例え.jp/パス", "https://example.com/path_(with)_parens", "https://user:pass@example.com/private",
        "git://example.org/repo.git", "example.io"]
url_templates = ["Open {} to continue.", "link: {}", "See {} for details.", '{{"callback": "{}"}}', "Visit {} now"]
for i, u in enumerate(urls):
    ip = [("IP_ADDRESS", "192.168.1.10")] if "192.168.1.10" in u else []
    add(url_templates[i % len(url_templates)].format(u), ("URL", u), *ip)

# ---------------------------------------------------------------- person names
names = [("Dear Maria, thanks for the update.", ["Maria"]), ("Please call John Smith tomorrow.", ["John Smith"]),
         ("Mr. Okafor signed the lease.", ["Okafor"]), ("Meeting with Dr. Chen at 3pm.", ["Chen"]),
         ("Thanks, Priya", ["Priya"]), ("The report was written by Kenji Tanaka.", ["Kenji Tanaka"]),
         ("Ask Hannah Becker about the budget.", ["Hannah Becker"]), ("I met Grace Kim at the conference.", ["Grace Kim"]),
         ("Prof. Amelia Rossi gave the keynote.", ["Amelia Rossi"]), ("Contact: J. Smith", ["J. Smith"]),
         ("Regards,\nTomasz Kowalski", ["Tomasz Kowalski"]), ("Hi Bob, the build is green.", ["Bob"]),
         ("Ahmed Hassan and Fatima Khan joined the team.", ["Ahmed Hassan", "Fatima Khan"]),
         ("The patient, Elena Petrova, was discharged.", ["Elena Petrova"]), ("Assign the ticket to Lucas Silva.", ["Lucas Silva"]),
         ("Ms. Johnson will review the draft.", ["Johnson"]), ("Signed: Olivia Brown", ["Olivia Brown"]),
         ("Forward this to Wei Zhang and Li Na.", ["Wei Zhang", "Li Na"]), ("My name is Zorblat Quenwick.", ["Zorblat Quenwick"]),
         ("Dear Xochitl,", ["Xochitl"]), ("Customer: Sophie Dubois, Lyon", ["Sophie Dubois"]),
         ("Nguyen Van An called about the order.", ["Nguyen Van An"]), ("Isabella Garcia-Lopez approved it.", ["Isabella Garcia-Lopez"]),
         ("The manager, Mohammed Al-Farsi, is on leave.", ["Mohammed Al-Farsi"]), ("Sent by Kwame Mensah", ["Kwame Mensah"]),
         ("Hello Aisha, welcome aboard!", ["Aisha"]), ("Emma and Liam are presenting.", ["Emma", "Liam"]),
         ("Book a room for Sarah Thompson.", ["Sarah Thompson"]), ("JOHN DOE, 42, admitted on Monday.", ["JOHN DOE"]),
         ("Invoice addressed to Marco Bianchi.", ["Marco Bianchi"]), ("Tell Carlos the shipment is late.", ["Carlos"]),
         ("The CEO, Satya Ramaswamy, spoke first.", ["Satya Ramaswamy"]), ("Happy birthday, Yuki!", ["Yuki"]),
         ("Please ask Dr Patel for a referral.", ["Patel"]), ("From: Anna Müller", ["Anna Müller"]),
         ("Ivan Petrov wrote the migration script.", ["Ivan Petrov"]), ("cc Rachel Green on this.", ["Rachel Green"]),
         ("I spoke with Daniel O'Brien yesterday.", ["Daniel O'Brien"]), ("Thanks Grace, that helps.", ["Grace"]),
         ("Approved by Chidi Okonkwo and Mei Lin.", ["Chidi Okonkwo", "Mei Lin"])]
for text, people in names:
    add(text, *[("PERSON", p) for p in people])

# ---------------------------------------------------------------- mixed records
for _ in range(6):
    e, p, s = f"user{R.randint(10, 99)}@example.com", f"+1 {R.choice(us_areas)} {R.randint(201, 989)} {digits(4)}", ssn()
    add(f"Name: Laura Meyer\nEmail: {e}\nPhone: {p}\nSSN: {s}", ("PERSON", "Laura Meyer"), ("EMAIL", e), ("PHONE", p), ("US_SSN", s),
        note="record")

# ---------------------------------------------------------------- hard negatives (no PII)
bad_luhn = []
while len(bad_luhn) < 8:
    n = luhn_complete("4", 16)
    n = n[:-1] + str((int(n[-1]) + 1) % 10)
    bad_luhn.append(spaced(n))
negatives = [f"Order {n} has shipped." for n in bad_luhn[:4]] + [f"Reference number {n}" for n in bad_luhn[4:]] + [
    "The build finished in 12.5 seconds on version 3.11.7.", "Release 2.14.0 is out, see the changelog.",
    "Meeting on 2024-05-17 at 10:30 in room 4B.", "The invoice total is $1,234.56 including VAT.",
    "Tracking ID 1Z999AA10123456784 is in transit.", "ISBN 978-0-306-40615-7 is the second edition.",
    "UUID 123e4567-e89b-12d3-a456-426614174000 was not found.", "Commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 fixed it.",
    "Zip code 94103 and suite 500.", "SSN format is XXX-XX-XXXX; never store them.", "Invalid SSN 000-12-3456 was rejected.",
    "666-12-3456 is not a valid area number.", "The test uses 078-05-1120, a famously invalid number.",
    "Monday's standup moved to Tuesday.", "We flew from Paris to Berlin in April.", "Microsoft and Apple reported earnings.",
    "The Great Gatsby is on the reading list.", "Will you review it? May I suggest a fix?", "The Golden Gate Bridge was foggy.",
    "Grace period ends soon.", "Mark the tests as flaky.", "Chapter 11 covers the New Deal.", "Use port 8080 for the proxy.",
    "The temperature was 21.5 degrees.", "Error code 0x80070005 means access denied.", "Room 1203, floor 12.",
    "Scores: 98, 87, 92 and 100.", "Population 8,336,817 in 2019.", "Coordinates 40.7128, -74.0060.",
    "Set the timeout to 30000 milliseconds.", "The year 1999 was a big one for the web.", "Account balance: 0.00",
    "The Python Software Foundation funds the conference.", "Amazon Web Services had an outage.",
    "Read chapter 3, pages 45-67.", "Sprint 42 starts on the 3rd.", "Version v1.2.3-beta.4 fixes the crash.",
    "Temperatures between 10-15 degrees.", "The ratio is 16:9 on most screens.", "Batch 2023-11-05-001 processed.",
    "The price went from 1,999 to 2,499.", "Use the United States Postal Service.", "New York and Los Angeles offices.",
    "The Red Cross opened a shelter.", "Queen Elizabeth Hospital is nearby.", "Downtown Dallas traffic is bad.",
    "Virginia Beach is sunny.", "The Jordan River flows south.", "Order #100234 contains 3 items.",
    "Build number 20240517.3 passed.", "The serial is SN-4431-AX-9.", "Part no. 7745-221-00", "MAC 00:1A:2B:3C:4D:5E",
    "Hex color #FF5733 for the button.", "SHA256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "Timestamp 1715939200 in seconds.", "Phone numbers must be in E.164 format.", "Email addresses are case-insensitive.",
    "Please do not share your password.", "Winter is coming, said nobody.", "Summer sale ends Sunday.",
    "Lincoln tunnel is closed.", "The Jackson Five reunion tour.", "Hope springs eternal.", "Rose petals everywhere.",
    "Frank discussion with the team.", "Christian holidays and Jewish holidays.", "The Victoria line is delayed.",
    "Jasmine tea and honey.", "Ivy covered the walls.",
]
for text in negatives:
    add(text, note="hard negative")

Path(__file__).with_name("pii.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
print(len(rows), "rows,", sum(len(r["entities"]) for r in rows), "entities")
