"""Sample teams, agents and tickets used by ``p2pdesk demo`` to fill a fresh desk.

The data is fictional and deliberately realistic: the kinds of messages vendors, buyers and
internal systems send to a Procure-to-Pay helpdesk. All e-mail domains use the reserved
``.example`` top-level domain. This module holds plain data only; the demo command maps it
onto the domain model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoTeam:
    name: str
    description: str
    timezone: str  # IANA time zone, e.g. "Europe/Berlin"


@dataclass(frozen=True)
class DemoAgent:
    name: str
    email: str
    teams: tuple[str, ...]  # team names


@dataclass(frozen=True)
class DemoTicket:
    subject: str
    description: str
    team: str
    priority: int
    requester_email: str
    reference_type: str
    reference_id: str
    status: str


TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam(
        name="Accounts Payable",
        description=(
            "Receives, matches and posts supplier invoices and credit notes, and answers vendor "
            "questions about invoice status, tax and statement reconciliation."
        ),
        timezone="Europe/Berlin",
    ),
    DemoTeam(
        name="Payments",
        description=(
            "Runs the payment cycles, handles remittance advice, returned or short payments, "
            "bank charges and early payment discounts."
        ),
        timezone="Europe/London",
    ),
    DemoTeam(
        name="Vendor Management",
        description=(
            "Owns vendor onboarding and vendor master data such as addresses, tax numbers, "
            "payment terms and supplier portal access."
        ),
        timezone="Asia/Kolkata",
    ),
    DemoTeam(
        name="Procurement",
        description=(
            "Creates, approves and changes purchase orders and makes sure buyers get what they "
            "need at contract prices."
        ),
        timezone="Europe/Berlin",
    ),
    DemoTeam(
        name="Inventory",
        description=(
            "Posts goods receipts, resolves quantity and quality discrepancies and manages "
            "returns, consignment and stock counts."
        ),
        timezone="America/New_York",
    ),
    DemoTeam(
        name="KYC",
        description=(
            "Collects and verifies the identity, ownership and registration documents of vendors "
            "and their contacts before and during the business relationship."
        ),
        timezone="Asia/Kolkata",
    ),
    DemoTeam(
        name="Risk",
        description=(
            "Investigates fraud signals, sanctions screening hits, bank detail changes and "
            "control breaches across the Procure-to-Pay process."
        ),
        timezone="Europe/London",
    ),
)


AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent(
        name="Priya Sharma",
        email="priya.sharma@p2pdesk.example",
        teams=("Accounts Payable", "Payments"),
    ),
    DemoAgent(name="Lukas Becker", email="lukas.becker@p2pdesk.example", teams=("Accounts Payable",)),
    DemoAgent(name="Amara Okafor", email="amara.okafor@p2pdesk.example", teams=("Accounts Payable",)),
    DemoAgent(name="Mateus Oliveira", email="mateus.oliveira@p2pdesk.example", teams=("Accounts Payable",)),
    DemoAgent(
        name="Daniel O'Connor",
        email="daniel.oconnor@p2pdesk.example",
        teams=("Payments", "Accounts Payable"),
    ),
    DemoAgent(name="Tomasz Nowak", email="tomasz.nowak@p2pdesk.example", teams=("Payments",)),
    DemoAgent(
        name="Hannah Whitfield",
        email="hannah.whitfield@p2pdesk.example",
        teams=("Payments", "Risk"),
    ),
    DemoAgent(
        name="David Mensah",
        email="david.mensah@p2pdesk.example",
        teams=("Risk", "Payments"),
    ),
    DemoAgent(
        name="Arjun Mehta",
        email="arjun.mehta@p2pdesk.example",
        teams=("Vendor Management", "KYC"),
    ),
    DemoAgent(name="Sofia Rossi", email="sofia.rossi@p2pdesk.example", teams=("Vendor Management",)),
    DemoAgent(
        name="Ingrid Larsen",
        email="ingrid.larsen@p2pdesk.example",
        teams=("Vendor Management", "Procurement"),
    ),
    DemoAgent(
        name="Ravi Krishnan",
        email="ravi.krishnan@p2pdesk.example",
        teams=("Vendor Management", "KYC", "Risk"),
    ),
    DemoAgent(name="Kenji Watanabe", email="kenji.watanabe@p2pdesk.example", teams=("Procurement",)),
    DemoAgent(
        name="Elena Petrova",
        email="elena.petrova@p2pdesk.example",
        teams=("Procurement", "Inventory"),
    ),
    DemoAgent(
        name="Lucia Fernandez",
        email="lucia.fernandez@p2pdesk.example",
        teams=("Inventory", "Procurement"),
    ),
    DemoAgent(name="Marcus Johnson", email="marcus.johnson@p2pdesk.example", teams=("Inventory",)),
    DemoAgent(name="Yuki Tanaka", email="yuki.tanaka@p2pdesk.example", teams=("Inventory",)),
    DemoAgent(name="Fatima Al-Sayed", email="fatima.alsayed@p2pdesk.example", teams=("KYC",)),
    DemoAgent(name="Aisha Bello", email="aisha.bello@p2pdesk.example", teams=("KYC",)),
    DemoAgent(
        name="Rahul Iyer",
        email="rahul.iyer@p2pdesk.example",
        teams=("KYC", "Risk"),
    ),
    DemoAgent(name="Olivia Chen", email="olivia.chen@p2pdesk.example", teams=("Risk",)),
)


TICKETS: tuple[DemoTicket, ...] = (
    # ------------------------------------------------------------------ Accounts Payable
    DemoTicket(
        subject="Invoice INV-2024-0815 missing from portal",
        description=(
            "Hello, we uploaded invoice INV-2024-0815 for EUR 12,480.00 to the supplier portal on "
            "2 September, but it still does not appear under 'My invoices'. It relates to PO "
            "4500012345 and the goods were delivered on 28 August. Could you check whether it was "
            "received? Kind regards, Maria Keller, Acme Industrial"
        ),
        team="Accounts Payable",
        priority=3,
        requester_email="accounts@acme-industrial.example",
        reference_type="invoice",
        reference_id="INV-2024-0815",
        status="new",
    ),
    DemoTicket(
        subject="Possible duplicate invoice INV-2024-0923 from Nordic Fasteners",
        description=(
            "Automated check: invoice INV-2024-0923 (EUR 4,150.00, dated 05.09.2024) matches "
            "INV-2024-0921 from the same vendor on amount, date and PO 4500012611. Both documents "
            "are parked and blocked for payment. Please confirm which one is valid and reject the "
            "other. -- AP Automation"
        ),
        team="Accounts Payable",
        priority=2,
        requester_email="ap-automation@p2p-corp.example",
        reference_type="invoice",
        reference_id="INV-2024-0923",
        status="open",
    ),
    DemoTicket(
        subject="Invoice IS-90231 on hold for price variance",
        description=(
            "Dear AP team, our invoice IS-90231 for 40 tonnes of cold-rolled coil has been on hold "
            "for two weeks. We billed EUR 812 per tonne as agreed in the August price letter, while "
            "PO 4500012877 still shows EUR 785. Your buyer has confirmed the new price by e-mail, "
            "which I can forward. Best regards, Jan de Vries, Ironbridge Steel"
        ),
        team="Accounts Payable",
        priority=3,
        requester_email="receivables@ironbridge-steel.example",
        reference_type="invoice",
        reference_id="IS-90231",
        status="pending",
    ),
    DemoTicket(
        subject="Credit note CN-2024-0112 not offset against open invoices",
        description=(
            "Hi, on 12 August we issued credit note CN-2024-0112 for EUR 1,960.00 for returned "
            "cartons. Your last payment covered the invoices in full and ignored the credit. Please "
            "either deduct it from the next payment run or confirm you want a refund. Thanks, "
            "Chloe Martin, Globex Packaging"
        ),
        team="Accounts Payable",
        priority=3,
        requester_email="billing@globex-packaging.example",
        reference_type="credit_note",
        reference_id="CN-2024-0112",
        status="open",
    ),
    DemoTicket(
        subject="Withholding tax deducted at wrong rate on INV-2024-1044",
        description=(
            "Dear Sir/Madam, against our invoice INV-2024-1044 for INR 8,40,000 you deducted TDS "
            "at 10%. We hold a lower deduction certificate valid until 31 March 2025 at 2%, a copy "
            "of which was shared in April. Kindly refund the excess INR 67,200 and issue a revised "
            "Form 16A. Regards, Suresh Nair, Bharat Logistics"
        ),
        team="Accounts Payable",
        priority=2,
        requester_email="finance@bharat-logistics.example",
        reference_type="invoice",
        reference_id="INV-2024-1044",
        status="open",
    ),
    DemoTicket(
        subject="Statement reconciliation for August 2024 - vendor V-10518",
        description=(
            "Hello, please find attached our account statement as of 31 August 2024. It shows three "
            "open items totalling USD 23,715.40 (SC-4410, SC-4432 and SC-4467) that are not visible "
            "on your remittances. Could you confirm whether these are booked on your side? "
            "Many thanks, Aaron Blake, Sunrise Chemicals"
        ),
        team="Accounts Payable",
        priority=3,
        requester_email="ar@sunrise-chemicals.example",
        reference_type="vendor",
        reference_id="V-10518",
        status="new",
    ),
    DemoTicket(
        subject="Invoice LO-5521 rejected for missing PO number",
        description=(
            "Hi, our invoice LO-5521 for office supplies (EUR 612.35) bounced with 'PO reference "
            "missing'. The PO is 4500013002; it was on the delivery note but not on the invoice. "
            "Should we resend the invoice or can you add the reference? Cheers, Tom Baker, "
            "Lumen Office"
        ),
        team="Accounts Payable",
        priority=3,
        requester_email="invoices@lumen-office.example",
        reference_type="invoice",
        reference_id="LO-5521",
        status="resolved",
    ),
    DemoTicket(
        subject="VAT amount mismatch on invoice INV-2024-0977",
        description=(
            "Hello, invoice INV-2024-0977 from Tecnova IT shows a net of EUR 18,000.00 and VAT of "
            "EUR 3,600.00, but the service is a reverse-charge IT service from Ireland. I cannot "
            "approve it as is. Can AP ask the vendor for a corrected invoice? Thanks, Sarah Koch, "
            "IT Procurement"
        ),
        team="Accounts Payable",
        priority=3,
        requester_email="sarah.koch@p2p-corp.example",
        reference_type="invoice",
        reference_id="INV-2024-0977",
        status="new",
    ),
    DemoTicket(
        subject="Three-way match failing for PO 4500012990",
        description=(
            "Workflow alert: invoice INV-2024-1010 for PO 4500012990 bills 120 units, but only 100 "
            "units are goods-receipted (GRN-77760). The invoice has been blocked for quantity "
            "variance since 9 September and the payment due date is 24 September. Please review. "
            "-- SAP Workflow"
        ),
        team="Accounts Payable",
        priority=3,
        requester_email="sap-workflow@p2p-corp.example",
        reference_type="po",
        reference_id="4500012990",
        status="open",
    ),
    DemoTicket(
        subject="Status enquiry for invoice INV-2024-0702",
        description=(
            "Good morning, could you let me know when invoice INV-2024-0702 (GBP 2,340.00, dated "
            "15 July) is scheduled for payment? Our terms are 45 days. Thank you, Rachel Evans, "
            "Delta Freight"
        ),
        team="Accounts Payable",
        priority=4,
        requester_email="credit.control@delta-freight.example",
        reference_type="invoice",
        reference_id="INV-2024-0702",
        status="closed",
    ),
    # ------------------------------------------------------------------ Payments
    DemoTicket(
        subject="Payment for PO 4500012345 not received",
        description=(
            "Hello, the payment for our deliveries under PO 4500012345 (invoice DF-22817, EUR "
            "27,300.00) was due on 15 September and has not reached our account. Your portal says "
            "'paid', but there is nothing on our bank statement. Can you send us the payment "
            "reference? Regards, Rachel Evans, Delta Freight"
        ),
        team="Payments",
        priority=2,
        requester_email="credit.control@delta-freight.example",
        reference_type="po",
        reference_id="4500012345",
        status="open",
    ),
    DemoTicket(
        subject="Remittance advice needed for payment PAY-2024-08817",
        description=(
            "Hi, we received EUR 31,204.55 on 10 September with reference PAY-2024-08817 but no "
            "remittance advice. We cannot allocate it to our open invoices without the breakdown. "
            "Could you e-mail it to this address? Thank you, Chloe Martin, Globex Packaging"
        ),
        team="Payments",
        priority=4,
        requester_email="billing@globex-packaging.example",
        reference_type="payment",
        reference_id="PAY-2024-08817",
        status="resolved",
    ),
    DemoTicket(
        subject="Early payment discount deducted after discount period on INV-2024-0860",
        description=(
            "Dear Payments team, you paid invoice INV-2024-0860 on day 21 and deducted the 2% "
            "early payment discount (EUR 197.50). Our terms are 2/10 net 30, so the discount no "
            "longer applied. Please pay the difference with the next run. Best regards, "
            "Lars Eriksen, Nordic Fasteners"
        ),
        team="Payments",
        priority=3,
        requester_email="ar@nordic-fasteners.example",
        reference_type="invoice",
        reference_id="INV-2024-0860",
        status="open",
    ),
    DemoTicket(
        subject="Payment PAY-2024-09120 returned by beneficiary bank",
        description=(
            "Hi team, payment PAY-2024-09120 for USD 15,880.00 to Meridian Foods came back today "
            "with return reason AC04 (account closed). The vendor has not told us about a new "
            "account. Please hold the funds and do not re-issue until Vendor Management has "
            "verified new bank details. Thanks, Treasury Operations"
        ),
        team="Payments",
        priority=2,
        requester_email="treasury.ops@p2p-corp.example",
        reference_type="payment",
        reference_id="PAY-2024-09120",
        status="open",
    ),
    DemoTicket(
        subject="Short payment on invoice INV-2024-0791",
        description=(
            "Hello, for invoice INV-2024-0791 we received GBP 14,200.00 instead of GBP 15,600.00. "
            "There was no debit note or explanation with the payment. Could you tell us why "
            "GBP 1,400.00 was withheld? Kind regards, Oliver Grant, Meridian Foods"
        ),
        team="Payments",
        priority=3,
        requester_email="accounts@meridian-foods.example",
        reference_type="invoice",
        reference_id="INV-2024-0791",
        status="pending",
    ),
    DemoTicket(
        subject="Duplicate payment made for INV-2024-0655",
        description=(
            "Urgent: invoice INV-2024-0655 from Acme Industrial (EUR 48,900.00) was paid twice, "
            "once in the run of 2 September and again as PAY-2024-08544 on 9 September. Please "
            "contact the vendor today to request a refund or a credit against open items. "
            "Thanks, Petra Vogel, AP Team Lead"
        ),
        team="Payments",
        priority=1,
        requester_email="petra.vogel@p2p-corp.example",
        reference_type="payment",
        reference_id="PAY-2024-08544",
        status="open",
    ),
    DemoTicket(
        subject="FX rate query on USD payment PAY-2024-09033",
        description=(
            "Hi, payment PAY-2024-09033 was raised in EUR but our invoice was in USD 9,500.00, so "
            "we received USD 9,312.18 after conversion. Which rate did you use, and can future "
            "payments be made in the invoice currency? Thanks, Kevin Liu, Tecnova IT Services"
        ),
        team="Payments",
        priority=4,
        requester_email="finance@tecnova-it.example",
        reference_type="payment",
        reference_id="PAY-2024-09033",
        status="resolved",
    ),
    DemoTicket(
        subject="Urgent payment request for critical spare parts supplier",
        description=(
            "Hello Payments, our supplier for the line 3 gearbox will not ship the replacement "
            "until invoice INV-2024-1133 (EUR 7,420.00) under PO 4500013110 is paid. The line is "
            "down and costs us around EUR 20,000 a day. Can this go out in an ad-hoc run today? "
            "Regards, Miguel Santos, Plant Maintenance"
        ),
        team="Payments",
        priority=2,
        requester_email="miguel.santos@p2p-corp.example",
        reference_type="po",
        reference_id="4500013110",
        status="new",
    ),
    DemoTicket(
        subject="Bank charges deducted from payment PAY-2024-09201",
        description=(
            "Dear team, payment PAY-2024-09201 arrived with EUR 35.00 less than invoiced because "
            "of intermediary bank charges. Our contract says all charges are OUR. Could you make "
            "sure the charge code is set correctly and pay the shortfall? Regards, Jan de Vries, "
            "Ironbridge Steel"
        ),
        team="Payments",
        priority=3,
        requester_email="receivables@ironbridge-steel.example",
        reference_type="payment",
        reference_id="PAY-2024-09201",
        status="new",
    ),
    DemoTicket(
        subject="Payment status for invoices due 30 September - V-10371",
        description=(
            "Hi, we have four invoices due on 30 September totalling EUR 56,310.00. Can you "
            "confirm they are included in the next payment run? Our vendor number is V-10371. "
            "Thanks, Oliver Grant, Meridian Foods"
        ),
        team="Payments",
        priority=4,
        requester_email="accounts@meridian-foods.example",
        reference_type="vendor",
        reference_id="V-10371",
        status="closed",
    ),
    # ------------------------------------------------------------------ Vendor Management
    DemoTicket(
        subject="New vendor onboarding: Tecnova IT Services",
        description=(
            "Hi Vendor Management, please onboard Tecnova IT Services so we can raise a PO for the "
            "laptop refresh (approx. EUR 180,000). The supplier has filled in the self-registration "
            "form and got the temporary ID V-10588. We need the vendor active by 30 September. "
            "Thanks, Sarah Koch, IT Procurement"
        ),
        team="Vendor Management",
        priority=3,
        requester_email="sarah.koch@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10588",
        status="open",
    ),
    DemoTicket(
        subject="Master data change: new company address for V-10233",
        description=(
            "Dear team, we moved our head office on 1 September. The new address is Hafenstrasse "
            "14, 20457 Hamburg. Please update vendor V-10233 so our invoices are not rejected for "
            "an address mismatch. Bank details are unchanged. Regards, Anke Schulz, Hanse Marine "
            "Supplies"
        ),
        team="Vendor Management",
        priority=3,
        requester_email="office@hanse-marine.example",
        reference_type="vendor",
        reference_id="V-10233",
        status="new",
    ),
    DemoTicket(
        subject="Vendor V-10410 blocked for posting - please unblock",
        description=(
            "Hi, I cannot post the goods receipt for PO 4500012930 because vendor V-10410 is "
            "blocked for posting. As far as I know the block was set by mistake during the data "
            "clean-up last week. Could you check and lift it? Thanks, Ben Howard, Warehouse Leeds"
        ),
        team="Vendor Management",
        priority=2,
        requester_email="ben.howard@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10410",
        status="open",
    ),
    DemoTicket(
        subject="Request to change payment terms to Net 30 for V-10371",
        description=(
            "Hello, following our annual review meeting with your category manager, it was agreed "
            "to move our payment terms from Net 60 to Net 30 from 1 October. Could you please "
            "update vendor V-10371 accordingly? The signed addendum is attached. Kind regards, "
            "Oliver Grant, Meridian Foods"
        ),
        team="Vendor Management",
        priority=3,
        requester_email="accounts@meridian-foods.example",
        reference_type="vendor",
        reference_id="V-10371",
        status="pending",
    ),
    DemoTicket(
        subject="Duplicate vendor records for Meridian Foods (V-10155 and V-10602)",
        description=(
            "Hi, Meridian Foods exists twice in the vendor master: V-10155 (old) and V-10602 "
            "(created in July). Invoices are being posted to both and the open-item balances do "
            "not reconcile. Please merge or block the duplicate. Thanks, Amara, AP"
        ),
        team="Vendor Management",
        priority=3,
        requester_email="ap.team@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10602",
        status="open",
    ),
    DemoTicket(
        subject="Supplier portal access for new accounts contact",
        description=(
            "Hi, our colleague Nina Patel has taken over accounts receivable from Aaron Blake. "
            "Could you give her access to the supplier portal (nina.patel@sunrise-chemicals.example) "
            "for vendor V-10518 and remove Aaron's account? Thanks, Sunrise Chemicals"
        ),
        team="Vendor Management",
        priority=4,
        requester_email="ar@sunrise-chemicals.example",
        reference_type="vendor",
        reference_id="V-10518",
        status="resolved",
    ),
    DemoTicket(
        subject="VAT registration number update for V-10299",
        description=(
            "Dear Vendor Management, after our change of legal form our VAT number is now "
            "NL861234567B01. Please update vendor V-10299 so the VAT check on our invoices passes. "
            "The tax office confirmation is attached. Best regards, Pieter Jansen, Holland Safety"
        ),
        team="Vendor Management",
        priority=3,
        requester_email="admin@holland-safety.example",
        reference_type="vendor",
        reference_id="V-10299",
        status="new",
    ),
    DemoTicket(
        subject="Vendor legal name change after acquisition - V-10077",
        description=(
            "Hello, Brightline Logistics Ltd was acquired by Delta Freight Group and trades as "
            "Delta Freight UK Ltd from 1 August. The company number and bank account remain the "
            "same. Please update the name on vendor V-10077; the certificate of change of name is "
            "attached. Regards, Rachel Evans"
        ),
        team="Vendor Management",
        priority=3,
        requester_email="credit.control@delta-freight.example",
        reference_type="vendor",
        reference_id="V-10077",
        status="pending",
    ),
    DemoTicket(
        subject="Onboarding form stuck at tax document step for V-10611",
        description=(
            "Hi, I'm trying to complete the supplier registration for V-10611 but the portal keeps "
            "saying 'upload failed' when I add our W-9 form (PDF, 240 KB). I tried two browsers. "
            "How else can I send it? Thanks, Carlos Mendes, Andes Mining Equipment"
        ),
        team="Vendor Management",
        priority=3,
        requester_email="sales@andes-mining.example",
        reference_type="vendor",
        reference_id="V-10611",
        status="new",
    ),
    DemoTicket(
        subject="Deactivate dormant vendor V-09874",
        description=(
            "Quarterly clean-up: vendor V-09874 has had no POs or invoices for 26 months and "
            "has no open items. Please flag it for deletion in line with the master data policy. "
            "-- Master Data Quality Report"
        ),
        team="Vendor Management",
        priority=4,
        requester_email="mdq-report@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-09874",
        status="closed",
    ),
    # ------------------------------------------------------------------ Procurement
    DemoTicket(
        subject="PO approval stuck with cost-centre owner",
        description=(
            "Hi, PO 4500012901 for EUR 36,500.00 (annual calibration service) has been waiting for "
            "approval by the cost-centre owner of CC 4120 since 3 September. He is on parental "
            "leave until November and no deputy is set up. Can you reroute the approval? Thanks, "
            "Mark Jones, Buyer"
        ),
        team="Procurement",
        priority=2,
        requester_email="buyer.jones@p2p-corp.example",
        reference_type="po",
        reference_id="4500012901",
        status="open",
    ),
    DemoTicket(
        subject="Change order needed on PO 4500012655 - quantity increase",
        description=(
            "Hello, we need 500 more safety helmets on PO 4500012655 (currently 1,500 at EUR 14.20 "
            "each) for the new site in Leipzig. The supplier has confirmed the same price. Please "
            "issue a change order. Kind regards, Julia Wagner, HSE"
        ),
        team="Procurement",
        priority=3,
        requester_email="julia.wagner@p2p-corp.example",
        reference_type="po",
        reference_id="4500012655",
        status="new",
    ),
    DemoTicket(
        subject="PO 4500012780 never received by supplier",
        description=(
            "Dear Procurement, your colleague told us that PO 4500012780 was released on 4 "
            "September, but we have not received it at orders@globex-packaging.example. We cannot "
            "schedule production without it. Could you resend it? Thanks, Chloe Martin, Globex "
            "Packaging"
        ),
        team="Procurement",
        priority=3,
        requester_email="orders@globex-packaging.example",
        reference_type="po",
        reference_id="4500012780",
        status="open",
    ),
    DemoTicket(
        subject="Contract price not applied on PO 4500013050",
        description=(
            "Hi, PO 4500013050 for 2,000 m of cable was created with the list price of EUR 3.85/m "
            "instead of our framework contract price of EUR 3.10/m. The difference is EUR 1,500.00. "
            "Please correct the PO before the supplier invoices. Thanks, Stefan Richter, Electrical "
            "Engineering"
        ),
        team="Procurement",
        priority=3,
        requester_email="stefan.richter@p2p-corp.example",
        reference_type="po",
        reference_id="4500013050",
        status="open",
    ),
    DemoTicket(
        subject="Cancel PO 4500012533 - project postponed",
        description=(
            "Hello, the warehouse racking project has been postponed to Q2 next year. Please "
            "cancel PO 4500012533 (EUR 64,200.00) and let the supplier know. Nothing has been "
            "delivered yet. Best, Ben Howard, Warehouse Leeds"
        ),
        team="Procurement",
        priority=4,
        requester_email="ben.howard@p2p-corp.example",
        reference_type="po",
        reference_id="4500012533",
        status="resolved",
    ),
    DemoTicket(
        subject="Blanket PO 4500011900 value exhausted",
        description=(
            "Hi, blanket PO 4500011900 for temporary staff is used up (EUR 250,000.00 consumed) "
            "and the agency's September invoices are now blocked. We still have budget in the "
            "cost centre. Can you raise the PO value by EUR 80,000 until year end? Thanks, "
            "Laura Fischer, HR Operations"
        ),
        team="Procurement",
        priority=2,
        requester_email="laura.fischer@p2p-corp.example",
        reference_type="po",
        reference_id="4500011900",
        status="new",
    ),
    DemoTicket(
        subject="Catalogue item missing for nitrile safety gloves",
        description=(
            "Hello, the nitrile gloves (article HS-4410) from Holland Safety, vendor V-10299, have "
            "disappeared from the e-procurement catalogue. Our sites order these weekly and are now "
            "raising free-text requests. Could you restore the catalogue item? Regards, Julia "
            "Wagner, HSE"
        ),
        team="Procurement",
        priority=3,
        requester_email="julia.wagner@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10299",
        status="open",
    ),
    DemoTicket(
        subject="Delivery date change request for PO 4500012999",
        description=(
            "Dear buyer, because of a delay at our steel supplier we can deliver PO 4500012999 on "
            "14 October instead of 30 September. Please confirm whether this is acceptable or "
            "whether a partial delivery of 60% on the original date would help. Regards, Jan de "
            "Vries, Ironbridge Steel"
        ),
        team="Procurement",
        priority=3,
        requester_email="sales@ironbridge-steel.example",
        reference_type="po",
        reference_id="4500012999",
        status="pending",
    ),
    DemoTicket(
        subject="Emergency PO 4500013125 needs same-day approval",
        description=(
            "Hi Procurement, line 3 is down because of a gearbox failure. I've created emergency "
            "PO 4500013125 for EUR 7,420.00 for the replacement part; the supplier can ship today "
            "if the PO is approved by 14:00 CET. Please escalate. Miguel Santos, Plant Maintenance"
        ),
        team="Procurement",
        priority=1,
        requester_email="miguel.santos@p2p-corp.example",
        reference_type="po",
        reference_id="4500013125",
        status="open",
    ),
    DemoTicket(
        subject="Wrong GL account on PO 4500012710",
        description=(
            "Hello, PO 4500012710 for marketing print material was booked to GL 620100 (IT "
            "consumables) instead of 640300 (advertising). Can you correct the account assignment "
            "before the invoice arrives? Thanks, Emma Clarke, Marketing"
        ),
        team="Procurement",
        priority=3,
        requester_email="emma.clarke@p2p-corp.example",
        reference_type="po",
        reference_id="4500012710",
        status="closed",
    ),
    # ------------------------------------------------------------------ Inventory
    DemoTicket(
        subject="GRN quantity mismatch 100 vs 96 pallets",
        description=(
            "Hi Inventory, GRN-77812 for PO 4500012345 was posted for 100 pallets, but the "
            "physical count at gate 4 on 11 September was 96. The driver signed the CMR with the "
            "shortage noted. Please correct the GRN so AP does not pay for the missing 4 pallets. "
            "Thanks, Kofi Asante, Warehouse Rotterdam"
        ),
        team="Inventory",
        priority=2,
        requester_email="kofi.asante@p2p-corp.example",
        reference_type="grn",
        reference_id="GRN-77812",
        status="open",
    ),
    DemoTicket(
        subject="Goods received but GRN not posted for PO 4500012640",
        description=(
            "Hello, we delivered 12 drums of solvent under PO 4500012640 on 29 August (delivery "
            "note SC-DN-3318, signed by your warehouse). Our invoice was rejected because no goods "
            "receipt exists. Could you post the GRN? Thanks, Aaron Blake, Sunrise Chemicals"
        ),
        team="Inventory",
        priority=3,
        requester_email="ar@sunrise-chemicals.example",
        reference_type="po",
        reference_id="4500012640",
        status="new",
    ),
    DemoTicket(
        subject="Damaged goods on delivery GRN-77901 - return to vendor",
        description=(
            "Hi, 18 of the 200 cartons received on GRN-77901 were crushed and the contents are "
            "unusable. Photos are attached. Please book a return to vendor for the 18 cartons "
            "(EUR 1,044.00) and ask Globex Packaging for a credit note. Grace Mwangi, Receiving Dock B"
        ),
        team="Inventory",
        priority=3,
        requester_email="receiving.dockb@p2p-corp.example",
        reference_type="grn",
        reference_id="GRN-77901",
        status="open",
    ),
    DemoTicket(
        subject="GRN-77655 posted against wrong PO line",
        description=(
            "Hello, GRN-77655 was posted to line 20 (M10 bolts) of PO 4500012611 instead of line 10 "
            "(M12 bolts). As a result the invoice for line 10 is blocked and stock shows bolts we "
            "do not have. Can you reverse and repost? Thanks, Lars Eriksen, Nordic Fasteners"
        ),
        team="Inventory",
        priority=3,
        requester_email="ar@nordic-fasteners.example",
        reference_type="grn",
        reference_id="GRN-77655",
        status="pending",
    ),
    DemoTicket(
        subject="Reverse GRN-77530 - goods rejected at quality inspection",
        description=(
            "Quality notification QN-2291: the 5,000 gaskets received on GRN-77530 failed the "
            "hardness test (72 Shore A vs. 80 specified). Please reverse the receipt and move the "
            "batch to blocked stock pending return. Regards, Dr. Anna Lindqvist, Quality Assurance"
        ),
        team="Inventory",
        priority=2,
        requester_email="anna.lindqvist@p2p-corp.example",
        reference_type="grn",
        reference_id="GRN-77530",
        status="open",
    ),
    DemoTicket(
        subject="Cycle count variance after GRN-77702",
        description=(
            "Automated alert: cycle count at location NJ-A-14-03 found 340 units of item "
            "300-1145, while system stock is 400. The last movement was GRN-77702 on 6 September. "
            "Please investigate before the month-end stock valuation. -- WMS Alerts"
        ),
        team="Inventory",
        priority=3,
        requester_email="wms-alerts@p2p-corp.example",
        reference_type="grn",
        reference_id="GRN-77702",
        status="new",
    ),
    DemoTicket(
        subject="Partial delivery on PO 4500012804 - second shipment pending",
        description=(
            "Hi, we received 60 of 100 monitors on PO 4500012804. Tecnova says the rest ships on "
            "20 September. Please keep the PO open for the remaining 40 and don't close it at "
            "month end. Thanks, Sarah Koch, IT Procurement"
        ),
        team="Inventory",
        priority=4,
        requester_email="sarah.koch@p2p-corp.example",
        reference_type="po",
        reference_id="4500012804",
        status="resolved",
    ),
    DemoTicket(
        subject="Serial numbers missing on GRN-77844",
        description=(
            "Hello, the 25 handheld scanners received on GRN-77844 were booked without serial "
            "numbers, so IT asset management cannot register them. The serials are on the packing "
            "list I attached. Could you add them to the goods receipt? Best, Omar Haddad, IT Asset Desk"
        ),
        team="Inventory",
        priority=3,
        requester_email="it.assets@p2p-corp.example",
        reference_type="grn",
        reference_id="GRN-77844",
        status="new",
    ),
    DemoTicket(
        subject="Consignment withdrawal report for August missing",
        description=(
            "Dear Inventory team, we have not yet received the consignment withdrawal report for "
            "August for vendor V-10299. We need it to invoice the gloves and goggles you consumed "
            "from our consignment stock. Could you send it by Friday? Regards, Pieter Jansen, "
            "Holland Safety"
        ),
        team="Inventory",
        priority=3,
        requester_email="admin@holland-safety.example",
        reference_type="vendor",
        reference_id="V-10299",
        status="pending",
    ),
    DemoTicket(
        subject="Over-delivery on PO 4500012721 - accept or return?",
        description=(
            "Hi, the supplier delivered 1,100 litres of hydraulic oil on PO 4500012721, which was "
            "for 1,000 litres. The tolerance in the contract is 5%. Should we accept the extra "
            "100 litres or send them back? Thanks, Ben Howard, Warehouse Leeds"
        ),
        team="Inventory",
        priority=3,
        requester_email="ben.howard@p2p-corp.example",
        reference_type="po",
        reference_id="4500012721",
        status="closed",
    ),
    # ------------------------------------------------------------------ KYC
    DemoTicket(
        subject="KYC documents pending for vendor V-10442",
        description=(
            "Hello, vendor V-10442 (Coastal Agro Exports) registered on 20 August but has not "
            "uploaded the certificate of incorporation and the UBO declaration. We have a PO of "
            "USD 95,000 ready to release. Can KYC chase them? Thanks, Anil Kapoor, Category "
            "Manager Agri"
        ),
        team="KYC",
        priority=2,
        requester_email="anil.kapoor@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10442",
        status="pending",
    ),
    DemoTicket(
        subject="Beneficial ownership declaration expired for V-10233",
        description=(
            "Automated reminder: the UBO declaration for vendor V-10233 expired on 31 August "
            "2024. Under the vendor due diligence policy new payments will be blocked after a "
            "30-day grace period. Please request an updated declaration. -- KYC Monitoring"
        ),
        team="KYC",
        priority=3,
        requester_email="kyc-monitoring@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10233",
        status="open",
    ),
    DemoTicket(
        subject="Identity verification failed for vendor contact U-58213",
        description=(
            "Hi, I tried the online ID check three times for our new finance director and it "
            "fails each time with 'document could not be read'. Her user ID is U-58213. Is there "
            "another way to verify her, for example a video call? Regards, Carlos Mendes, Andes "
            "Mining Equipment"
        ),
        team="KYC",
        priority=3,
        requester_email="sales@andes-mining.example",
        reference_type="kyc_user",
        reference_id="U-58213",
        status="new",
    ),
    DemoTicket(
        subject="Periodic KYC review due for V-10077",
        description=(
            "Automated reminder: vendor V-10077 (Delta Freight UK Ltd) is due for its three-yearly "
            "KYC review on 15 October 2024. The recent name change must also be reflected in the "
            "KYC file. -- KYC Monitoring"
        ),
        team="KYC",
        priority=3,
        requester_email="kyc-monitoring@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10077",
        status="new",
    ),
    DemoTicket(
        subject="Certificate of incorporation not legible for V-10588",
        description=(
            "Hello KYC, the certificate of incorporation uploaded by Tecnova IT Services (V-10588) "
            "is a low-resolution scan and the registration number cannot be read. IT Procurement "
            "is waiting for this vendor to go live. Could you ask for a clearer copy? Thanks, "
            "Sofia, Vendor Management"
        ),
        team="KYC",
        priority=3,
        requester_email="vendor.master@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10588",
        status="open",
    ),
    DemoTicket(
        subject="Director passport copy re-upload for U-58340",
        description=(
            "Hi, you asked us to re-upload the passport of our director because the first copy "
            "was expired. I've uploaded the new passport (valid until 2033) under user U-58340 "
            "this morning. Please let me know if anything else is missing. Best, Kevin Liu, "
            "Tecnova IT Services"
        ),
        team="KYC",
        priority=4,
        requester_email="finance@tecnova-it.example",
        reference_type="kyc_user",
        reference_id="U-58340",
        status="resolved",
    ),
    DemoTicket(
        subject="Enhanced due diligence for high-risk country vendor V-10611",
        description=(
            "Hi KYC, vendor V-10611 (Andes Mining Equipment) has a parent company registered in a "
            "jurisdiction on our high-risk list. Per policy this needs enhanced due diligence "
            "before the first PO of USD 240,000 is released. Please start the EDD file. Regards, "
            "Nadia Rahman, Risk"
        ),
        team="KYC",
        priority=2,
        requester_email="risk.team@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10611",
        status="open",
    ),
    DemoTicket(
        subject="Proof of address older than three months for U-58477",
        description=(
            "Hello, your portal says the utility bill I uploaded for user U-58477 is 'too old'. "
            "It is dated 2 June, which is the latest one we have because we pay annually. Would a "
            "bank statement from August be accepted instead? Thanks, Priyanka Rao, Coastal Agro "
            "Exports"
        ),
        team="KYC",
        priority=3,
        requester_email="priyanka.rao@coastal-agro.example",
        reference_type="kyc_user",
        reference_id="U-58477",
        status="pending",
    ),
    DemoTicket(
        subject="Sole trader KYC without company registration number - V-10620",
        description=(
            "Hi, I'm a freelance translator (vendor V-10620) and the KYC form insists on a company "
            "registration number, which I don't have as a sole trader. I can provide my tax ID "
            "and passport. How should I complete the form? Kind regards, Sophie Laurent"
        ),
        team="KYC",
        priority=3,
        requester_email="sophie.laurent@translations-sl.example",
        reference_type="vendor",
        reference_id="V-10620",
        status="new",
    ),
    DemoTicket(
        subject="KYC approved but status not synced to ERP for V-10502",
        description=(
            "Hello, the KYC check for vendor V-10502 was approved on 9 September, but the ERP "
            "still shows 'KYC pending' and the payment block is active. Two invoices (EUR "
            "11,250.00 in total) are now overdue. Can you re-trigger the sync? Thanks, Lukas, AP"
        ),
        team="KYC",
        priority=2,
        requester_email="ap.team@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10502",
        status="closed",
    ),
    # ------------------------------------------------------------------ Risk
    DemoTicket(
        subject="Bank details change request for V-10233",
        description=(
            "Dear Sir/Madam, please note our bank account has changed with immediate effect. All "
            "future payments for vendor V-10233 must go to IBAN GB29 NWBK 6016 1331 9268 19. The "
            "letter is attached; please confirm once updated, as two invoices are due this week. "
            "Regards, Anke Schulz, Hanse Marine Supplies"
        ),
        team="Risk",
        priority=1,
        requester_email="anke.schulz@hanse-marine-supplies.example",
        reference_type="vendor",
        reference_id="V-10233",
        status="new",
    ),
    DemoTicket(
        subject="Sanctions screening hit on vendor V-10633",
        description=(
            "Screening alert: the UBO of vendor V-10633 (Caspian Trade Partners) matched an entry "
            "on a consolidated sanctions list with a score of 94%. All open POs and payments for "
            "this vendor have been blocked automatically. Please review the match and decide "
            "within 24 hours. -- Screening Service"
        ),
        team="Risk",
        priority=1,
        requester_email="screening-bot@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10633",
        status="open",
    ),
    DemoTicket(
        subject="Suspicious invoice INV-2024-2201 impersonating Acme Industrial",
        description=(
            "Hi Risk, we received invoice INV-2024-2201 for EUR 86,400.00 that looks like it is "
            "from Acme Industrial, but it came from acme-industriai.example (with an 'i' instead "
            "of an 'l') and lists a different IBAN. There is no matching PO. I have not posted it. "
            "Amara, Accounts Payable"
        ),
        team="Risk",
        priority=1,
        requester_email="ap.team@p2p-corp.example",
        reference_type="invoice",
        reference_id="INV-2024-2201",
        status="open",
    ),
    DemoTicket(
        subject="Payment PAY-2024-09310 to new bank account exceeds threshold",
        description=(
            "Control alert: payment PAY-2024-09310 for EUR 152,000.00 is going to a bank account "
            "that was added to the vendor master 3 days ago. Payments above EUR 50,000 to accounts "
            "younger than 30 days need a call-back verification. The payment is held. -- Payment "
            "Controls"
        ),
        team="Risk",
        priority=2,
        requester_email="payment-controls@p2p-corp.example",
        reference_type="payment",
        reference_id="PAY-2024-09310",
        status="pending",
    ),
    DemoTicket(
        subject="Segregation of duties conflict on PO 4500012955",
        description=(
            "Audit finding: PO 4500012955 (EUR 18,900.00) was created and approved by the same "
            "user, and that user also confirmed the goods receipt. The approval workflow should "
            "have prevented this. Please investigate the role assignment and the transaction. "
            "Regards, Internal Audit"
        ),
        team="Risk",
        priority=2,
        requester_email="internal.audit@p2p-corp.example",
        reference_type="po",
        reference_id="4500012955",
        status="open",
    ),
    DemoTicket(
        subject="Adverse media alert for V-10371",
        description=(
            "Monitoring alert: a news article dated 10 September reports a food safety "
            "investigation into Meridian Foods (V-10371). There is no sanctions match. Please "
            "assess whether the vendor's risk rating needs to change. -- Third-Party Risk Monitor"
        ),
        team="Risk",
        priority=2,
        requester_email="tprm-monitor@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10371",
        status="new",
    ),
    DemoTicket(
        subject="Possible PO splitting to avoid approval limit - PO 4500013010",
        description=(
            "Hi Risk, I noticed that PO 4500013010 and two other POs to the same supplier were "
            "created on the same day for EUR 9,900.00 each, just under the EUR 10,000 approval "
            "limit. It could be innocent, but it looks like splitting. Could you take a look? "
            "Thanks, Mark Jones, Buyer"
        ),
        team="Risk",
        priority=3,
        requester_email="buyer.jones@p2p-corp.example",
        reference_type="po",
        reference_id="4500013010",
        status="open",
    ),
    DemoTicket(
        subject="Vendor bank account matches employee account - V-10540",
        description=(
            "Data analytics alert: the bank account on vendor V-10540 is identical to the salary "
            "account of an active employee. Three payments totalling EUR 27,450.00 have gone to "
            "this account since May. Please treat as confidential and investigate. -- Fraud "
            "Analytics"
        ),
        team="Risk",
        priority=1,
        requester_email="fraud-analytics@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10540",
        status="pending",
    ),
    DemoTicket(
        subject="False positive sanctions match - please release V-10488",
        description=(
            "Hello, payments to vendor V-10488 (Lim Precision Engineering, Singapore) have been "
            "blocked since 2 September because of a name match. The listed person has a different "
            "date of birth and nationality from the company's director. Please release the block. "
            "Thanks, Daniel, Payments"
        ),
        team="Risk",
        priority=3,
        requester_email="payments.team@p2p-corp.example",
        reference_type="vendor",
        reference_id="V-10488",
        status="resolved",
    ),
    DemoTicket(
        subject="Credit note CN-2024-0140 raised without underlying invoice",
        description=(
            "Hi, while reconciling I found credit note CN-2024-0140 for EUR 5,300.00 booked to "
            "vendor V-10155 with no original invoice and no return. It was entered manually by a "
            "user who left in August. Can Risk review whether this is legitimate? Thanks, Petra "
            "Vogel, AP Team Lead"
        ),
        team="Risk",
        priority=3,
        requester_email="petra.vogel@p2p-corp.example",
        reference_type="credit_note",
        reference_id="CN-2024-0140",
        status="closed",
    ),
)
