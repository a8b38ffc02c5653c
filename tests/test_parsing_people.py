"""Who a mail means and their organisation, as a careful coordinator reads it: invented mails (example.org)
for each class of reading (surname first, households, proxies, lists and tables, the writer left out, job
titles and departments, towns), plus the word lists they rest on."""

from __future__ import annotations

import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "corpus"))

from scoring import load_context

from mailflow.core.parsing import parse_message
from mailflow.core.parsing.lexicon import is_first_name, is_function, is_place
from mailflow.core.parsing.names import first_name_leads, from_display_name
from mailflow.core.parsing.organisations import first_org, kind_org, normalise_org, plausible_org

CONTEXT = load_context(Path(__file__).parent / "corpus" / "corpus.toml")


def people_of(body: str, sender: str = "Anna Peeters <anna.peeters@example.org>", cc: str | None = None):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "leernetwerk@in-gent.example"
    message["Subject"] = "Leernetwerk"
    message["Date"] = "Mon, 02 Feb 2026 10:00:00 +0100"
    if cc:
        message["Cc"] = cc
    message.set_content(body)
    parsed = parse_message(message.as_bytes(), CONTEXT)
    return str(parsed.intent), sorted((p.name, p.organisation) for p in parsed.people)


def test_a_name_comma_organisation_line_signs_the_mail():
    assert people_of("Count me in for 12 May!\nTom Peeters, JRS", "Tom Peeters <tom@example.org>") == (
        "register",
        [("Tom Peeters", "JRS")],
    )
    body = "Dag Hilde,\n\nGraag schrijf ik me in voor 12 mei.\n\nGroeten,\nKris Dewulf, Rode Kruis"
    assert people_of(body, "Kris Dewulf <kris@example.org>")[1] == [("Kris Dewulf", "Rode Kruis")]


@pytest.mark.parametrize(
    ("display", "name"),
    [
        ("Goethals Bram", "Bram Goethals"),
        ("DEWULF Kris", "Kris Dewulf"),
        ("Bram Goethals", "Bram Goethals"),
        ("Van Hecke Godelieve", "Godelieve Van Hecke"),
        ("Geldhof, Tom", "Tom Geldhof"),
    ],
)
def test_a_surname_written_first_is_turned_by_the_first_name_list(display, name):
    assert from_display_name(display) == name


def test_a_name_without_a_known_first_name_stays_as_written():
    assert first_name_leads("Mbuyi Kalala") == "Mbuyi Kalala"
    assert first_name_leads("Mbuyi Kalala Grâce") == "Grâce Mbuyi Kalala"


def test_the_writer_who_stays_home_registers_only_the_colleague():
    body = (
        "Beste,\n\nGraag schrijf ik mijn collega Lien Maes in voor 12 mei, zelf kan ik niet. "
        "Ik werk bij Welzijnsschakel Het Anker in Lokeren.\n\nMet vriendelijke groeten\nGoethals Bram\n"
        "maatschappelijk werker"
    )
    assert people_of(body, "Goethals Bram <bram.goethals@example.org>") == (
        "register",
        [("Lien Maes", "Welzijnsschakel Het Anker")],
    )


def test_a_neighbour_registered_on_her_behalf_keeps_her_own_organisation():
    body = (
        "Hello,\n\nI'm writing on behalf of my neighbour, Mrs Denise Vermaut. She asked me to register her "
        "for your evening on 10 March.\nShe volunteers at the food bank in Geraardsbergen.\n"
        "I won't be attending myself.\n\nKind regards,\nSophie Hart"
    )
    assert people_of(body, "Sophie Hart <sophie@example.org>")[1] == [
        ("Denise Vermaut", "Food bank Geraardsbergen")
    ]


def test_on_behalf_of_our_director_registers_the_director_with_our_organisation():
    body = (
        "Goedemiddag,\n\nNamens onze algemeen directeur, Filip Declercq, geef ik graag een inschrijving door "
        "voor het leernetwerk van 12 mei.\n\nMet vriendelijke groeten\nLotte Desmet\nDirectieassistente\n"
        "CAW Oost-Vlaanderen\nT 09 000 00 00"
    )
    assert people_of(body, '"Desmet, Lotte" <lotte@example.org>')[1] == [
        ("Filip Declercq", "CAW Oost-Vlaanderen")
    ]


def test_a_named_colleague_who_cannot_come_or_speaks_is_not_registered():
    body = (
        "Dag Hilde,\n\nMijn collega Femke Vos had gevraagd om ons samen in te schrijven voor 12 mei, "
        "maar zij kan helaas niet. Ikzelf kom wel graag.\n\nGroeten,\nDries Lannoo\nBegeleider nachtopvang\n"
        "vzw Het Anker Brugge"
    )
    assert people_of(body, "Dries Lannoo <dries@example.org>")[1] == [("Dries Lannoo", "Het Anker Brugge")]
    body = (
        "Hi Hilde,\n\nI'd like to sign up for the session on 12 May. My colleague Bram Evers is one of the "
        "speakers that evening, so I'll come along.\n\nEllen Price\nVolunteer Coordinator\nRefugee Aid Gent"
    )
    assert people_of(body, "Ellen Price <ellen@example.org>")[1] == [("Ellen Price", "Refugee Aid Gent")]


def test_a_household_is_two_people_with_the_family_name():
    body = (
        "Dag Hilde,\n\nWij, Marc en Rita, schrijven ons graag samen in voor de avond van 12 mei.\n\n"
        "Vriendelijke groeten,\nFam. Vandamme\nKerkstraat 14\n9971 Lembeke"
    )
    assert people_of(body, '"Fam. Vandamme" <fam.vandamme@example.org>')[1] == [
        ("Marc Vandamme", None),
        ("Rita Vandamme", None),
    ]


def test_a_list_with_roles_registers_everyone_with_the_team_organisation():
    body = (
        "Dag Hilde,\n\nVoor de sessie van 12 mei schrijf ik graag vier mensen in:\n\n"
        "- Jolien Vandaele (stagiaire maatschappelijk werk)\n- Rachid Amrani (vrijwilliger)\n"
        "- Marijke Verbeke – coördinator buurtwerking\n- en ikzelf\n\nTot dan!\nStijn\n\n-- \n"
        "Stijn Claeys\nOpbouwwerker\nSamenlevingsopbouw West-Vlaanderen\nM 0470 00 00 00"
    )
    org = "Samenlevingsopbouw West-Vlaanderen"
    assert people_of(body, "Stijn Claeys <stijn@example.org>")[1] == [
        ("Jolien Vandaele", org),
        ("Marijke Verbeke", org),
        ("Rachid Amrani", org),
        ("Stijn Claeys", org),
    ]


def test_a_table_flattened_to_one_cell_a_line_registers_its_rows():
    body = (
        "Hi Hilde,\n\nHere are the volunteers from Welcome Table who would like to join on 12 May:\n"
        "Name\nRole\nE-mail\nLucía Navarro\nbuddy coordinator\nlucia@example.org\nTomasz Nowak\n"
        "volunteer, Sunday dinners\ntomasz@example.org\n"
        "I'm afraid I can't make it myself that evening.\nThanks,\nSarah\n\n-- \nSarah Quinn\n"
        "Coordinator | Welcome Table Gent\n"
    )
    _, people = people_of(body, "Sarah Quinn <sarah@example.org>")
    assert [name for name, _ in people] == ["Lucía Navarro", "Tomasz Nowak"]


def test_colleagues_in_a_mail_written_without_capitals():
    body = (
        "hallo hilde\n\nik en mijn collegas jana de meester en youssef ben amar van het ocmw brugge komen "
        "graag naar het leernetwerk op 12 mei.\n\ngroetjes\nkristien"
    )
    assert people_of(body, "kristien <kristien.vermeire@example.org>")[1] == [
        ("Jana De Meester", "OCMW Brugge"),
        ("Kristien Vermeire", "OCMW Brugge"),
        ("Youssef Ben Amar", "OCMW Brugge"),
    ]


def test_initials_give_way_to_the_written_out_first_name():
    body = "Chère Madame,\n\nJe voudrais m'inscrire à la séance du 12 mai.\n\n-- \nM.-Th. Lacroix\n"
    assert people_of(body, "Marie-Thérèse Lacroix <mt@example.org>")[1] == [("Marie-Thérèse Lacroix", None)]


@pytest.mark.parametrize(
    "text",
    [
        "maatschappelijk werker",
        "Maatschappelijk werker – team Onthaal",
        "dienst Welzijn en Samenleving",
        "Coordinatrice des bénévoles",
        "Assistante sociale",
        "Service social général",
        "afdeling Integratie",
        "Senior project manager",
        "Vrijwilligersverantwoordelijke",
        "permanence du jeudi",
        "social worker",
    ],
)
def test_job_titles_and_departments_are_never_an_organisation(text):
    assert is_function(text)
    assert normalise_org(text, ()) is None


@pytest.mark.parametrize(
    "text", ["Rode Kruis", "Accueil Solidaire Mouscron", "Open Huis Torhout", "Vluchtelingenwerk Vlaanderen"]
)
def test_organisations_are_not_job_titles(text):
    assert not is_function(text)
    assert normalise_org(text, ()) == text


@pytest.mark.parametrize("text", ["T 059 00 31 72", "12", "Lochristi", "Kortrijk", "09 000 12 12"])
def test_numbers_phones_and_towns_are_never_an_organisation(text):
    assert normalise_org(text, ()) is None


@pytest.mark.parametrize(
    ("sentence", "organisation"),
    [
        ("Ik ben vrijwilliger bij Welzijnsschakel Het Anker in Lokeren.", "Welzijnsschakel Het Anker"),
        ("Ik werk als vrijwilliger bij het Rode Kruis in Deinze.", "Rode Kruis in Deinze"),
        (
            "Nu help ik als vrijwilliger bij de Afghaanse vereniging Pamir in Oostende.",
            "Afghaanse vereniging Pamir",
        ),
        ("Je suis bénévole à l'école de devoirs « Le Tremplin » à Gand.", "École de devoirs Le Tremplin"),
        (
            "Bij ons in de Sint-Martinusparochie in Kortrijk volgen we dat op.",
            "Sint-Martinusparochie Kortrijk",
        ),
        ("ik geef les bij de taalclub in wetteren op maandag.", "Taalclub Wetteren"),
        ("Je suis assistante sociale au CPAS de Forest.", "CPAS de Forest"),
        ("Onze werkgroep Samen Thuis in Diksmuide stopt.", "Werkgroep Samen Thuis"),
        ("Ik werk die dag tot 19 uur in Lochristi.", None),
    ],
)
def test_organisations_read_from_a_sentence(sentence, organisation):
    found = first_org([sentence])
    assert (normalise_org(found, ()) if found else None) == organisation


def test_a_bare_kind_of_organisation_is_no_ones_organisation():
    assert kind_org("sociaal huis") is None
    assert kind_org("vereniging die ons helpt") is None


def test_the_word_lists_ship_with_the_package():
    assert is_first_name("Bram") and is_first_name("Jean-Pierre") and not is_first_name("Goethals")
    assert is_place("Sint-Niklaas") and is_place("gand") and not is_place("Rode Kruis")


def test_together_with_my_husband_registers_both_and_registering_him_only_him():
    body = "Hallo,\n\nIk wil me graag inschrijven voor 12 mei samen met mijn man Peter Claes.\n\nAnna"
    assert [n for n, _ in people_of(body)[1]] == ["Anna Peeters", "Peter Claes"]
    body = "Hallo,\n\nGraag schrijf ik mijn man Peter Claes in voor 12 mei.\n\nAnna"
    assert [n for n, _ in people_of(body)[1]] == ["Peter Claes"]


@pytest.mark.parametrize(
    ("text", "plausible"),
    [
        ("Buurtwerk 2B", True),
        ("Vormingplus 3", True),
        ("<b>Buurtwerk</b> {{ 7*7 }}", True),  # odd, but what the person wrote: kept as text
        ("Kerkstraat 14", False),
        ("rue Haute 12", False),
        ("12 Church Road", False),
        ("09 123 45 67", False),
        ("9000 Gent", False),
        ("13/01/2026", False),
    ],
)
def test_numbers_and_addresses_are_no_organisation_but_a_short_number_in_a_name_is(text, plausible):
    assert plausible_org(text) is plausible
