#!/usr/bin/env python3
"""Generates the quickstart's sample CRM (sample_crm.json) and the relations the simulated
SnelStart administration already holds (snelstart_existing.json).

Deterministic (fixed seed): run it again and the files come out the same. Everything is
invented; identifiers carry valid check digits (IBAN mod-97, Dutch VAT mod-97) so SnelStart's
validation accepts them.

    python3 examples/data/generate_sample.py
"""
import base64
import json
import os
import random

R = random.Random(20241127)
HERE = os.path.dirname(os.path.abspath(__file__))

TRADES = ["Bakkerij", "Installatiebedrijf", "Schildersbedrijf", "Autobedrijf", "Hoveniersbedrijf",
          "Drukkerij", "Timmerfabriek", "Adviesbureau", "Transportbedrijf", "Architectenbureau",
          "Loodgietersbedrijf", "Dakdekkersbedrijf", "Slagerij", "Kapsalon", "Fietsenmaker",
          "Accountantskantoor", "Elektrotechniek", "Metaalbewerking", "Bloembinderij", "Zonwering",
          "Glashandel", "Tegelzetterij", "Koeltechniek", "Verhuisbedrijf", "Cateringbedrijf"]
SURNAMES = ["Jansen", "De Vries", "Van den Berg", "Bakker", "Visser", "Smit", "Meijer", "De Boer",
            "Mulder", "De Groot", "Bos", "Vos", "Peters", "Hendriks", "Van Leeuwen", "Dekker",
            "Brouwer", "De Wit", "Dijkstra", "Smits", "De Graaf", "Van der Meer", "Kok", "Jacobs",
            "De Haan", "Vermeulen", "Van Dijk", "Schouten", "Willems", "Hoekstra"]
CITIES = [("Utrecht", "35"), ("Amersfoort", "38"), ("Zwolle", "80"), ("Breda", "48"),
          ("Groningen", "97"), ("Eindhoven", "56"), ("Haarlem", "20"), ("Leiden", "23"),
          ("Arnhem", "68"), ("Tilburg", "50"), ("Deventer", "74"), ("Alkmaar", "18")]
STREETS = ["Stationsstraat", "Kerkstraat", "Industrieweg", "Dorpsstraat", "Molenweg",
           "Havenkade", "Marktplein", "Schoolstraat", "Nieuwe Gracht", "Ambachtsweg"]
FIRST = ["Jan", "Petra", "Mohamed", "Anouk", "Kees", "Sanne", "Ruud", "Fatima", "Bram", "Lisa",
         "Henk", "Eva", "Tom", "Noor", "Pieter", "Sophie"]
ROLES = ["Directeur", "Inkoop", "Financiële administratie", "Projectleider", "Werkvoorbereider",
         "Boekhouding"]
BANKS = [("ABNA", "ABNANL2A"), ("RABO", "RABONL2U"), ("INGB", "INGBNL2A"), ("SNSB", "SNSBNL2A")]


def letters_to_digits(s):
    return "".join(str(int(c, 36)) if c.isalpha() else c for c in s)


def iban(bank, account):
    body = f"{bank}{account:010d}"
    check = 98 - int(letters_to_digits(body + "NL00")) % 97
    return f"NL{check:02d}{body}"


def btw():
    while True:
        digits = f"{R.randrange(10**8, 10**9):09d}"
        for suffix in range(1, 100):
            candidate = f"NL{digits}B{suffix:02d}"
            if int(letters_to_digits(candidate)) % 97 == 1:
                return candidate


def pdf(title):
    text = (f"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            f"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            f"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
            f"% {title}\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    return base64.b64encode(text.encode()).decode()


def postcode(prefix, i):
    # Dutch postcodes never use the letter pairs SA, SD and SS.
    letters = f"{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}"
    if letters in ("SA", "SD", "SS"):
        letters = "AB"
    return f"{prefix}{R.randrange(10, 99)} {letters}"


names_used = set()


def company(i):
    trade = TRADES[i % len(TRADES)]
    surname = SURNAMES[(i // len(TRADES)) % len(SURNAMES)]
    form = ["B.V.", "B.V.", "V.O.F.", ""][i % 4]
    name = f"{trade} {surname} {form}".strip()
    assert name not in names_used
    names_used.add(name)
    return name


def relation(i, kind):
    city, pc = CITIES[i % len(CITIES)]
    domain = company_domain(i)
    contacts = []
    for c in range(R.choice([2, 2, 3, 4])):
        first = R.choice(FIRST)
        contact = {"id": f"c-{i}-{c}", "name": f"{first} {R.choice(SURNAMES)}",
                   "role": R.choice(ROLES), "email": f"{first.lower()}@{domain}",
                   "phone": f"06-{R.randrange(10**7, 10**8)}",
                   "last_changed": f"2024-{R.randrange(1, 12):02d}-{R.randrange(1, 28):02d}T09:00:00Z"}
        if c == 0 and R.random() < 0.4:
            contact["primary"] = True
        contacts.append(contact)
    bank, bic = BANKS[i % len(BANKS)]
    r = {
        "id": f"crm-{i:04d}",
        "kind": kind,
        "number": str(10000 + i),
        "legal_name": company(i),
        "visit_address": {"street": STREETS[i % len(STREETS)], "house_number": str(1 + i % 180),
                          "postcode": postcode(pc, i),
                          "city": city, "country": "NL"},
        "contacts": contacts,
        "email": f"info@{domain}",
        "phone": f"0{R.randrange(10, 99)}-{R.randrange(1000000, 9999999)}",
        "website": f"www.{domain}",
        "kvk_number": f"{60000000 + i * 37:08d}",
        "payment_term_days": R.choice([14, 30, 30, 60]),
        "active": True,
    }
    if i % 5 == 0:
        r["visit_address"]["house_number_addition"] = "A"
    if i % 3 != 0:
        r["vat_number"] = btw()
    if i % 4 != 1:
        r["iban"] = iban(bank, 100000000 + i * 7919)
        r["bic"] = bic
    if kind == "customer" and i % 6 == 0:
        r["credit_limit"] = f"{R.choice([2500, 5000, 10000])}.00"
    if i % 7 == 0:
        r["postal_address"] = {"street": "Postbus", "house_number": str(100 + i), "postcode": f"{pc}00 AA",
                               "city": city, "country": "NL"}
    return r


def company_domain(i):
    base = company_name_slug(i)
    return f"{base}.nl"


def company_name_slug(i):
    trade = TRADES[i % len(TRADES)].lower()
    surname = SURNAMES[(i // len(TRADES)) % len(SURNAMES)].lower().replace(" ", "")
    return f"{trade}{surname}"


relations = []
for i in range(1, 211):
    kind = "customer" if i <= 150 else ("supplier" if i <= 200 else "both")
    relations.append(relation(i, kind))

# Relations SnelStart already holds: 25 of the CRM's customers and suppliers, typed in by hand
# long ago (other relatiecode, name variants, not every field), and 4 namesakes that make a
# CRM record ambiguous.
existing = []
for n, i in enumerate(list(range(5, 130, 6))[:20] + list(range(152, 200, 10))):
    r = relations[i - 1]
    name = r["legal_name"].replace("B.V.", "BV") if n % 2 == 0 else r["legal_name"].upper()
    e = {"relatiesoort": ["Klant" if r["kind"] == "customer" else "Leverancier"],
         "relatiecode": 500 + n, "naam": name,
         "vestigingsAdres": {"straat": f'{r["visit_address"]["street"]} {r["visit_address"]["house_number"]}',
                             "postcode": r["visit_address"]["postcode"], "plaats": r["visit_address"]["city"]}}
    if n % 3 != 2:
        e["kvkNummer"] = r["kvk_number"]
    if n % 3 == 2:
        e["email"] = r["email"]
        e["telefoon"] = r["phone"]
    existing.append(e)
for n, i in enumerate([140, 141, 142, 143]):
    r = relations[i - 1]
    # The CRM record keeps only its name: two SnelStart namesakes in other towns.
    for k, city in enumerate(["Venlo", "Assen"]):
        existing.append({"relatiesoort": ["Klant"], "relatiecode": 600 + n * 2 + k,
                         "naam": r["legal_name"],
                         "vestigingsAdres": {"straat": f"Markt {k + 1}", "postcode": f"{59 + k}00 AA", "plaats": city}})
    for key in ["kvk_number", "vat_number", "iban", "bic", "email", "phone", "website"]:
        r.pop(key, None)
    r["visit_address"] = None
    r["contacts"] = r["contacts"][:1]
    for c in r["contacts"]:
        c.pop("email", None)
        c.pop("phone", None)

# Records SnelStart would refuse, each for a reason pre-flight names.
relations[20 - 1]["legal_name"] = ""
relations[40 - 1]["visit_address"]["city"] = ""
relations[60 - 1]["phone"] = "+31 (0)30 123 45 67 toestel 1234 of 1235"
relations[80 - 1]["number"] = "K-80"
relations[100 - 1]["number"] = "klant honderd"
relations[120 - 1]["visit_address"]["postcode"] = "12345"
relations[175 - 1]["legal_name"] = "Internationale Handelsonderneming voor Bouwmaterialen en Gereedschappen " + relations[175 - 1]["legal_name"]
invalid_relations = {"crm-0020", "crm-0040", "crm-0060", "crm-0080", "crm-0100", "crm-0120"}

projects = []
for p in range(1, 31):
    projects.append({"id": f"prj-{p:02d}", "number": f"P2024-{p:03d}",
                     "description": f"{R.choice(['Renovatie', 'Nieuwbouw', 'Onderhoud', 'Verbouwing'])} "
                                    f"{R.choice(['kantoor', 'school', 'woonblok', 'bedrijfshal', 'winkel'])} {R.choice(CITIES)[0]}",
                     "active": p <= 27})

customers = [r for r in relations if r["kind"] in ("customer", "both") and r["id"] not in invalid_relations
             and r["id"] not in {"crm-0140", "crm-0141", "crm-0142", "crm-0143"}]
suppliers = [r for r in relations if r["kind"] in ("supplier", "both") and r["id"] not in invalid_relations]


def line(desc, vat, category=None, project=None):
    qty = R.choice([1, 1, 2, 3, 5, 8, 12])
    price = R.choice([12.5, 45, 79.95, 125, 250, 480, 1150, 3.99, 0.85])
    l = {"description": desc, "quantity": str(qty), "unit_price": f"{price:.2f}", "vat_category": vat}
    if category:
        l["category"] = category
    if project:
        l["project"] = project
    return l


sales = []
for n in range(1, 331):
    rel = R.choice(customers)
    month = 1 + (n * 7) % 11
    date = f"2024-{month:02d}-{1 + n % 27:02d}"
    kind = "credit_note" if n % 13 == 0 else "invoice"
    roll = R.random()
    if roll < 0.06:
        lines = [line("Montage (btw verlegd)", "verlegd"), line("Materiaal (btw verlegd)", "verlegd")]
    elif roll < 0.12:
        lines = [line("Export levering", "export")]
    elif roll < 0.18:
        lines = [line("Opleiding (vrijgesteld)", "vrijgesteld"), line("Lesmateriaal", "nul")]
    elif roll < 0.40:
        proj = R.choice(projects[:27])["number"]
        lines = [line("Projecturen", "hoog", "projecten", proj), line("Materiaal project", "hoog", "projecten", proj)]
    else:
        lines = [line(R.choice(["Advies", "Onderhoud", "Levering", "Service"]), "hoog")
                 for _ in range(R.choice([1, 2, 3]))]
        if R.random() < 0.4:
            lines.append(line("Boeken en drukwerk", "laag"))
    inv = {"id": f"inv-{n:04d}", "kind": kind, "number": f"2024-{n:04d}", "date": date,
           "payment_term_days": rel["payment_term_days"], "relation": rel["id"],
           "description": f"{'Creditnota' if kind == 'credit_note' else 'Factuur'} 2024-{n:04d}",
           "lines": lines,
           "attachments": [{"file_name": f"2024-{n:04d}.pdf", "content": pdf(f"factuur 2024-{n:04d}")}]}
    sales.append(inv)
# Invoices pre-flight must refuse.
sales[10]["lines"] = [line("Montage", "verlegd"), line("Materiaal", "hoog")]          # verlegd mixed
sales[50]["lines"] = [line("Projecturen", "hoog", "projecten")]                          # cost centre required
sales[90]["lines"] = [line("Projecturen laag", "laag", "projecten", "P2024-001")]       # no ledger for projecten/laag
sales[130]["lines"] = []                                                                 # nothing to book
sales[170]["relation"] = "crm-0020"                                                      # relation failed itself

purchases = []
for n in range(1, 41):
    rel = R.choice(suppliers)
    cat = R.choice(["inkoop", "kantoor", "auto", "projectkosten"])
    proj = R.choice(projects[:27])["number"] if cat == "projectkosten" else None
    lines = [line(R.choice(["Materiaal", "Kantoorartikelen", "Brandstof", "Onderaanneming"]), R.choice(["hoog", "hoog", "laag"]), cat, proj)]
    purchases.append({"id": f"pinv-{n:03d}", "number": f"INK-{n:04d}", "date": f"2024-{1 + n % 11:02d}-{1 + n % 27:02d}",
                      "payment_term_days": 30, "relation": rel["id"], "lines": lines,
                      "attachments": [{"file_name": f"INK-{n:04d}.pdf", "content": pdf(f"inkoopfactuur {n}")}]})

# Forms real exports hold, all valid: e-mail lists, labelled KvK numbers, Dutch VAT ids without
# their country prefix (added under the mapping's `vat_without_prefix` policy, with a notice),
# memos with line breaks. Applied last, so the records above are otherwise unchanged.
for i, r in enumerate(relations, start=1):
    if r["id"] in invalid_relations:
        continue
    if i % 7 == 3 and r.get("email"):
        r["email"] = f'{r["email"]}; facturen@{r["email"].split("@")[1]}'
    if i % 9 == 4 and r.get("kvk_number"):
        r["kvk_number"] = f'KvK {r["kvk_number"]}'
    elif i % 9 == 5 and r.get("kvk_number"):
        k = r["kvk_number"]
        r["kvk_number"] = f"KvK-nummer: {k[:4]} {k[4:]}"
    if i % 11 == 6 and r.get("vat_number", "").startswith("NL"):
        r["vat_number"] = r["vat_number"][2:]
    if i % 13 == 2:
        r["memo"] = "Klant sinds 2015.\nLevering alleen op dinsdag en donderdag."

dataset = {"relations": relations, "projects": projects, "sales_invoices": sales, "purchase_invoices": purchases}
with open(os.path.join(HERE, "sample_crm.json"), "w") as f:
    json.dump(dataset, f, indent=1, ensure_ascii=False)
    f.write("\n")
with open(os.path.join(HERE, "snelstart_existing.json"), "w") as f:
    json.dump(existing, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"{len(relations)} relations, {len(projects)} projects, {len(sales)} sales invoices, "
      f"{len(purchases)} purchase invoices; SnelStart already holds {len(existing)} relations")
