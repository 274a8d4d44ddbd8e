"""Generate data/heat_pumps.pdf, the 3-page sample PDF used by the demo and the page-citation tests.

Each page holds its own distinct facts, so a question can be traced to exactly one page. This is a
dev-time tool: reportlab is NOT a docqa dependency. Run it with any Python that has reportlab:

    python -m venv /tmp/pdfgen && /tmp/pdfgen/bin/pip install reportlab
    /tmp/pdfgen/bin/python data/make_sample_pdf.py

`invariant=1` keeps the output byte-identical between runs (no timestamps, fixed document id), so the
committed PDF and its content hash only change when the text below changes.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate, Spacer

OUT = Path(__file__).resolve().parent / "heat_pumps.pdf"
TITLE = "Heat Pumps: A Practical Introduction"

PAGES: list[tuple[str, list[str | list[str]]]] = [
    (
        "1. How a Heat Pump Works",
        [
            "A heat pump moves heat from a cold place to a warm place instead of producing it by burning "
            "fuel. A domestic heat pump takes low-temperature heat from the outdoor air, the ground or water "
            "and releases it at a higher temperature inside the building. A refrigerator does the same job "
            "in reverse: it pumps heat out of its cabinet into the kitchen.",
            "The heat is carried by a refrigerant that circulates through four main components:",
            [
                "the evaporator, where the cold refrigerant absorbs heat from outside and evaporates;",
                "the compressor, which raises the pressure and therefore the temperature of the vapour;",
                "the condenser, where the hot vapour gives its heat to the heating water and condenses;",
                "the expansion valve, which lowers the pressure again so that the cycle can restart.",
            ],
            "The efficiency of a heat pump is expressed as its coefficient of performance (COP): the heat "
            "delivered divided by the electricity consumed. A typical air-source heat pump has a COP of 3 to "
            "4 at an outdoor temperature of 7 °C, which means that 1 kWh of electricity delivers 3 to 4 kWh "
            "of heat. Because the COP changes with the weather, the seasonal coefficient of performance "
            "(SCOP) averages it over a whole heating season.",
            "The principle is old. Lord Kelvin described a heat pump, which he called a 'heat multiplier', "
            "in 1852. Peter von Rittinger built the first working heat pump system in Austria in 1856, to "
            "evaporate brine in a salt works. Robert C. Webber experimented with the first ground-source "
            "heat pump in the late 1940s, after noticing how warm the outlet pipe of his deep freezer became.",
        ],
    ),
    (
        "2. Types of Heat Pumps",
        [
            "Air-source heat pumps take heat from the outdoor air through a fan unit placed outside the "
            "building. They are the cheapest and most common type. Modern cold-climate models keep working "
            "down to an outdoor temperature of -25 °C, although their COP falls to about 2 at -10 °C. An "
            "air-to-water heat pump feeds radiators or underfloor heating; an air-to-air heat pump blows "
            "warm air into rooms and can usually cool them in summer as well.",
            "Ground-source heat pumps collect heat through a closed loop of pipes buried in the ground. "
            "Horizontal loops are laid in trenches 1 to 2 metres deep and need a large garden; vertical "
            "loops use boreholes that are typically 50 to 200 metres deep. Below about 10 metres the ground "
            "stays at roughly 10 to 12 °C all year in a temperate climate, so ground-source systems reach a "
            "SCOP of 4 to 5, higher than air-source systems, but drilling makes them more expensive.",
            "Water-source heat pumps use a lake, a river or groundwater as the heat source; they are very "
            "efficient but need a permit to take and return the water. Exhaust-air heat pumps recover heat "
            "from the stale air leaving a ventilation system and suit small, airtight homes.",
            "A hybrid system combines a heat pump with a gas or oil boiler. The heat pump covers most of the "
            "year and the boiler takes over only on the coldest days or for hot water peaks.",
        ],
    ),
    (
        "3. Installation, Running Costs and Maintenance",
        [
            "A heat pump must be sized from a room-by-room heat loss calculation, not from the size of the "
            "old boiler. An oversized unit switches on and off too often, which lowers its efficiency and "
            "shortens the life of the compressor.",
            "Heat pumps are most efficient at low flow temperatures of 35 to 45 °C, compared with the 60 to "
            "80 °C that gas boilers often use. Each degree lower improves the COP by roughly 2 to 3 percent. "
            "Larger radiators or underfloor heating make up for the lower water temperature.",
            "Running costs follow from the SCOP. A house that needs 12,000 kWh of heat per year uses about "
            "4,000 kWh of electricity with a heat pump whose SCOP is 3.0. At an electricity price of "
            "0.30 euros per kWh, heating that house costs about 1,200 euros per year.",
            "Maintenance is simple: an annual service checks the refrigerant pressure, the electrical "
            "connections and the antifreeze in ground loops, and the outdoor unit must be kept free of "
            "leaves and snow. An air-source heat pump lasts about 15 to 20 years; the buried loops of a "
            "ground-source system last 50 years or more.",
            "The refrigerant matters for the climate. The older refrigerant R-410A has a global warming "
            "potential (GWP) of 2,088, R-32 has a GWP of 675, and the natural refrigerant R-290 (propane) "
            "has a GWP of only 3. Many new models therefore use R-290.",
        ],
    ),
]


def build(out: Path = OUT) -> Path:
    styles = getSampleStyleSheet()
    body, heading = styles["BodyText"], styles["Heading1"]
    body.spaceAfter = 8
    doc = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        title=TITLE,
        author="docqa sample data",
        subject="Sample document for docqa",
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
        topMargin=2.2 * cm,
        bottomMargin=2.2 * cm,
        invariant=1,
    )
    story: list = [Paragraph(TITLE, styles["Title"]), Spacer(1, 6)]
    for i, (title, blocks) in enumerate(PAGES):
        if i:
            story.append(PageBreak())
        story.append(Paragraph(title, heading))
        for block in blocks:
            if isinstance(block, list):
                items = [ListItem(Paragraph(item, body), leftIndent=12) for item in block]
                story.append(ListFlowable(items, bulletType="bullet", start="-", leftIndent=12))
            else:
                story.append(Paragraph(block, body))
    doc.build(story)
    return out


if __name__ == "__main__":
    print(build())
