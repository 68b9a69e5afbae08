"""Build routing_corpus.jsonl from the hand-written cores (routing_cores.jsonl: team, language, subject,
body; written as vendors, buyers and colleagues write, without looking at the shipped rules' phrase
lists; 22 per team and 18 ambiguous ones for Triage): each core in three of five shapes real mail
takes (signed, a reply over quoted history, forwarded by a colleague, a terse phone message, buried
under a legal footer). Run `python bench/data/build_routing_corpus.py` after editing a core.

Every line carries `group` (the core it came from): the evaluation splits by group, so no variant of
a test message was ever seen in training.

It also builds routing_blind_corpus.jsonl from routing_blind_cores.jsonl (160 cores, 20 per team,
written later by someone who saw neither the rules nor the classifier nor the main cores): the same
shapes, groups "b0", "b1", ... It is a test set only; nothing trains on it.

Likewise routing_blind2_corpus.jsonl from routing_blind2_cores.jsonl (200 cores, 25 per team, 64 en /
46 de / 45 fr / 45 es, written later still by someone who saw neither the rules, the classifier, nor
any earlier cores or corpus): the same shapes, groups "c0", "c1", ... Scored once on 2026-12-02;
development data since (the rules were fixed for its mistakes).

routing_blind3_corpus.jsonl from routing_blind3_cores.jsonl (240 cores, 30 per team, 76 en / 56 de /
54 fr / 54 es, written on 2026-12-03 by someone who saw no rule, classifier, test, bench or earlier
corpus, to the labelling guide LABELLING.md): groups "d0", "d1", ... The judged test set:
nothing trains on it and nobody working on routing reads it.

routing_history{1,2,3}_corpus.jsonl from routing_history{1,2,3}_cores.jsonl (240 cores each, 30 per
team; 1: EN/DE, 2: FR/ES/EN, 3: EN/DE/FR/ES from writers other than vendors' clerks), written on
2026-12-03 to the same guide by three more people who saw no rule or corpus: "desk history" the
classifier trains on and the rules were checked against. Groups "h…", "i…", "j…".

Written on 2026-12-07 to the same guide by writers who saw no rule, test, bench or corpus:
routing_history{4..19} (240 cores each, 30 per team; 4: internal staff, 5: small vendors, 6: long
multi-topic mail, 7: boundary cases between teams, 8: colleagues forwarding with an ask on top, 9:
terse phone messages, 10: regional variants of each language, 11: industries' own vocabulary, 14:
hard and indirect cases; 12, 13, 15-19: a month of one company's inbox - manufacturing, retail,
professional services, logistics, pharma, public sector, technology), groups "k…" to "z…": desk
history the classifier trains on. The rules were not fitted to history4-11 or blind3, bar a few
fraud phrases that matched harmless mail: with them, these are the leave-one-corpus-out validation
(`bench/routing.py --leave-one-corpus-out`) on which the classifier and the threshold were chosen.
routing_blind4 and routing_blind5 (240 cores each, like blind3, by two more writers), groups "e…"
and "f…": the judged test set of 2026-12-07; nothing trains on them and nobody working on routing
reads them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
Core = tuple[str, str, str, str]  # team, language, subject, body


def load_cores(name: str) -> list[Core]:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [(c["team"], c["lang"], c["subject"], c["body"]) for c in map(json.loads, lines)]


CORES = load_cores("routing_cores.jsonl")
# Each further set of cores: its corpus, the seed of its shapes, and its group prefix.
FURTHER = [
    ("routing_blind_cores.jsonl", "routing_blind_corpus.jsonl", 2027, "b"),
    ("routing_blind2_cores.jsonl", "routing_blind2_corpus.jsonl", 2028, "c"),
    ("routing_blind3_cores.jsonl", "routing_blind3_corpus.jsonl", 2029, "d"),
    ("routing_history1_cores.jsonl", "routing_history1_corpus.jsonl", 2030, "h"),
    ("routing_history2_cores.jsonl", "routing_history2_corpus.jsonl", 2031, "i"),
    ("routing_history3_cores.jsonl", "routing_history3_corpus.jsonl", 2032, "j"),
    ("routing_history4_cores.jsonl", "routing_history4_corpus.jsonl", 2033, "k"),
    ("routing_history5_cores.jsonl", "routing_history5_corpus.jsonl", 2034, "l"),
    ("routing_history6_cores.jsonl", "routing_history6_corpus.jsonl", 2035, "m"),
    ("routing_history7_cores.jsonl", "routing_history7_corpus.jsonl", 2036, "n"),
    ("routing_history8_cores.jsonl", "routing_history8_corpus.jsonl", 2038, "o"),
    ("routing_history9_cores.jsonl", "routing_history9_corpus.jsonl", 2039, "p"),
    ("routing_history10_cores.jsonl", "routing_history10_corpus.jsonl", 2040, "q"),
    ("routing_history11_cores.jsonl", "routing_history11_corpus.jsonl", 2041, "r"),
    ("routing_history12_cores.jsonl", "routing_history12_corpus.jsonl", 2043, "s"),
    ("routing_history13_cores.jsonl", "routing_history13_corpus.jsonl", 2044, "t"),
    ("routing_history14_cores.jsonl", "routing_history14_corpus.jsonl", 2045, "u"),
    ("routing_history15_cores.jsonl", "routing_history15_corpus.jsonl", 2046, "v"),
    ("routing_history16_cores.jsonl", "routing_history16_corpus.jsonl", 2047, "w"),
    ("routing_history17_cores.jsonl", "routing_history17_corpus.jsonl", 2048, "x"),
    ("routing_history18_cores.jsonl", "routing_history18_corpus.jsonl", 2049, "y"),
    ("routing_history19_cores.jsonl", "routing_history19_corpus.jsonl", 2050, "z"),
    ("routing_blind4_cores.jsonl", "routing_blind4_corpus.jsonl", 2037, "e"),
    ("routing_blind5_cores.jsonl", "routing_blind5_corpus.jsonl", 2042, "f"),
]

GREETINGS = {
    "en": ["Hello,", "Hi team,", "Dear Sir or Madam,", "Good morning,", "Dear colleagues,", ""],
    "de": [
        "Sehr geehrte Damen und Herren,",
        "Hallo zusammen,",
        "Guten Morgen,",
        "Liebe Kolleginnen und Kollegen,",
        "",
    ],
    "fr": ["Bonjour,", "Madame, Monsieur,", "Bonjour à tous,", "Chère équipe,", ""],
    "es": ["Buenos días:", "Hola,", "Estimados señores:", "Buenas tardes,", ""],
}
CLOSINGS = {
    "en": ["Kind regards,", "Best regards,", "Thanks,", "Many thanks in advance,", "Regards,"],
    "de": ["Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße", "Freundliche Grüße"],
    "fr": ["Cordialement,", "Bien cordialement,", "Salutations distinguées,", "Merci d'avance,"],
    "es": ["Saludos cordiales,", "Un saludo,", "Atentamente,", "Gracias de antemano,"],
}
SIGNATURES = {
    "en": [
        "Tom Fletcher\nCredit Controller | Northgate Components Ltd\nT +44 161 555 0142\nRegistered in England and Wales No. 04418820, VAT GB 284 1190 33",
        "Priya Nair\nAccounts Receivable\nHelix Lab Supplies Inc.\n1200 Commerce Drive, Suite 400, Austin TX\nwww.helixlab.example",
        "Daniel Ross\nSales Operations\nBrightline Group\nPlease consider the environment before printing this email.",
        "J. Okoro | Finance | Atlas Freight Ltd | +44 20 7946 0011",
    ],
    "de": [
        "Anna Schmidt\nDebitorenbuchhaltung\nSchmidt & Partner Maschinenbau GmbH\nIndustriestraße 12, 80939 München\nTel. +49 89 1234 5670\nGeschäftsführer: Peter Schmidt | Amtsgericht München HRB 123456 | USt-IdNr. DE123456789",
        "Markus Weber\nVertriebsinnendienst\nMT Solutions GmbH\nwww.mt-solutions.example",
        "i. A. Julia Krüger\nBuchhaltung | Krüger Logistik KG\nSitz: Hamburg, Registergericht Hamburg HRA 99812",
    ],
    "fr": [
        "Claire Martin\nService comptabilité clients\nDubois Industrie SAS\n12 rue des Forges, 69007 Lyon\nSIRET 512 345 678 00021 – TVA FR 12 512345678",
        "Julien Moreau\nResponsable ADV\nAteliers Moreau\nTél. 01 45 67 89 10",
        "Sophie Bernard | Comptabilité | Transports Bernard SARL",
    ],
    "es": [
        "Lucía Fernández\nDepartamento de Administración\nGrupo García Servicios S.L.\nC/ Alcalá 120, 28009 Madrid\nCIF B-12345678 – Inscrita en el Registro Mercantil de Madrid, Tomo 1234",
        "Javier Ruiz\nAtención al cliente\nSuministros Ruiz S.A.\nTel. +34 91 555 12 34",
        "Marta López | Contabilidad | Logística Levante",
    ],
}
DISCLAIMERS = {
    "en": "This e-mail and any attachments are confidential and intended solely for the addressee. If you have received it in error, please notify the sender and delete it. Any views expressed are those of the author and not necessarily of the company. We accept no liability for viruses.",
    "de": "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den Absender und vernichten Sie diese Mail. Das unerlaubte Kopieren sowie die Weitergabe dieser Mail ist nicht gestattet.",
    "fr": "Ce message et ses pièces jointes sont confidentiels et destinés exclusivement à leurs destinataires. Si vous avez reçu ce message par erreur, merci d'en avertir l'expéditeur et de le supprimer. Toute utilisation non autorisée est interdite.",
    "es": "Este mensaje y sus anexos son confidenciales y se dirigen exclusivamente a su destinatario. Si lo ha recibido por error, le rogamos que lo comunique al remitente y lo elimine. Queda prohibida su difusión sin autorización.",
}
QUOTED = {
    "en": [
        "Thank you for your message. We have opened ticket P2P-000{n} and will come back to you shortly.",
        "Hi, just following up on our call - could you send the details in writing? Thanks, Sam",
        "Please see our updated price list for next year attached. Best, the sales team",
    ],
    "de": [
        "Vielen Dank für Ihre Nachricht. Wir haben das Ticket P2P-000{n} angelegt und melden uns in Kürze.",
        "Hallo, wie telefonisch besprochen, bitte schicken Sie uns die Details schriftlich. Gruß, Stefan",
    ],
    "fr": [
        "Merci pour votre message. Nous avons ouvert le ticket P2P-000{n} et revenons vers vous rapidement.",
        "Bonjour, suite à notre appel, pouvez-vous nous envoyer les éléments par écrit ? Merci, Paul",
    ],
    "es": [
        "Gracias por su mensaje. Hemos abierto la incidencia P2P-000{n} y les responderemos en breve.",
        "Hola, según lo hablado por teléfono, ¿nos pueden enviar los detalles por escrito? Gracias, Ana",
    ],
}
REPLY_PREFIX = {"en": "RE: ", "de": "AW: ", "fr": "RE : ", "es": "RE: "}
FORWARD_PREFIX = {"en": "Fwd: ", "de": "WG: ", "fr": "TR : ", "es": "RV: "}
FORWARD_NOTES = {
    "en": [
        "FYI - can you take care of this one?",
        "Forwarding this, not sure who handles it.",
        "See below, please handle.",
    ],
    "de": ["Zur Info, könnt ihr das übernehmen?", "Leite ich weiter, bitte kümmern.", "Siehe unten."],
    "fr": ["Pour info, pouvez-vous traiter ?", "Je vous transfère, merci de voir.", "Voir ci-dessous."],
    "es": ["Para vuestra información, ¿lo podéis ver?", "Os lo reenvío, gracias.", "Ver abajo."],
}
WROTE = {
    "en": "On {date}, {who} wrote:",
    "de": "Am {date} schrieb {who}:",
    "fr": "Le {date}, {who} a écrit :",
    "es": "El {date}, {who} escribió:",
}
FORWARD_HEADER = {
    "en": "---------- Forwarded message ---------\nFrom: {who}\nDate: {date}\nSubject: {subject}\nTo: {to}",
    "de": "-------- Weitergeleitete Nachricht --------\nVon: {who}\nGesendet: {date}\nBetreff: {subject}\nAn: {to}",
    "fr": "-------- Message transféré --------\nDe : {who}\nDate : {date}\nObjet : {subject}\nÀ : {to}",
    "es": "---------- Mensaje reenviado ---------\nDe: {who}\nFecha: {date}\nAsunto: {subject}\nPara: {to}",
}
MOBILE = {
    "en": "Sent from my iPhone",
    "de": "Von meinem iPhone gesendet",
    "fr": "Envoyé de mon iPhone",
    "es": "Enviado desde mi iPhone",
}
DOMAINS = [
    "northgate.example",
    "helixlab.example",
    "brightline.example",
    "mt-solutions.example",
    "krueger-logistik.example",
    "dubois-industrie.example",
    "ateliers-moreau.example",
    "garcia-servicios.example",
    "suministros-ruiz.example",
    "atlasfreight.example",
    "fastfix.example",
    "levante-log.example",
]
NAMES = [
    "tom.fletcher",
    "priya.nair",
    "d.ross",
    "anna.schmidt",
    "m.weber",
    "c.martin",
    "j.moreau",
    "lucia.fernandez",
    "jruiz",
    "accounts",
    "ar",
    "finance",
]
INTERNAL = [
    "lena.hofmann@buyer-corp.example",
    "mark.evans@buyer-corp.example",
    "ines.garcia@buyer-corp.example",
    "reception@buyer-corp.example",
]
SHAPES = ["signed", "reply", "forwarded", "terse", "footer"]


def build(cores: list[Core] = CORES, seed: int = 2026, group_prefix: str = "") -> list[dict[str, object]]:
    """`group_prefix` keeps another corpus's groups apart from the main one's (plain integers)."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for index, (team, lang, subject, body) in enumerate(cores):
        group: int | str = f"{group_prefix}{index}" if group_prefix else index
        sender = f"{rng.choice(NAMES)}@{rng.choice(DOMAINS)}"
        shapes = ["signed", *rng.sample(SHAPES[1:], 2)]
        for shape in shapes:
            date = f"{rng.randint(1, 28)}.{rng.randint(1, 12)}.2026"
            greeting = rng.choice(GREETINGS[lang])
            signed = "\n\n".join(
                p for p in [greeting, body, rng.choice(CLOSINGS[lang]), rng.choice(SIGNATURES[lang])] if p
            )
            s, text, frm = subject, signed, sender
            if shape == "reply":
                quoted = rng.choice(QUOTED[lang]).format(n=rng.randint(100, 999))
                wrote = WROTE[lang].format(date=date, who="P2P Desk <desk@buyer-corp.example>")
                s = REPLY_PREFIX[lang] + subject
                text = f"{signed}\n\n{wrote}\n" + "\n".join(f"> {line}" for line in quoted.splitlines())
            elif shape == "forwarded":
                frm = rng.choice(INTERNAL)
                header = FORWARD_HEADER[lang].format(who=sender, date=date, subject=subject, to=frm)
                s = FORWARD_PREFIX[lang] + subject
                text = f"{rng.choice(FORWARD_NOTES[lang])}\n\n{header}\n\n{signed}"
            elif shape == "terse":
                s = subject.lower() if rng.random() < 0.5 else subject
                text = f"{body}\n\n{MOBILE[lang]}"
            elif shape == "footer":
                text = f"{signed}\n\n{DISCLAIMERS[lang]}"
            rows.append(
                {
                    "group": group,
                    "team": team,
                    "lang": lang,
                    "shape": shape,
                    "from": frm,
                    "subject": s,
                    "body": text,
                }
            )
    return rows


def write(name: str, rows: list[dict[str, object]]) -> None:
    with (HERE / name).open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    rows = build()
    write("routing_corpus.jsonl", rows)
    print(f"{len(rows)} messages from {len(CORES)} cores")
    for cores_file, corpus_file, seed, prefix in FURTHER:
        cores = load_cores(cores_file)
        further = build(cores, seed=seed, group_prefix=prefix)
        write(corpus_file, further)
        print(f"{corpus_file}: {len(further)} messages from {len(cores)} cores")
