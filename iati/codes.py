"""The IATI codes the publisher writes (IATI 2.03 codelists). The validator reads the
official codelists themselves (iati/validation.py); these are only what we emit."""

VERSION = "2.03"
NAMESPACE = "urn:seetf:iati"  # our extension: the USD credited for a money movement
NS_PREFIX = "seetf"

# ActivityStatus
STATUS_IMPLEMENTATION = "2"
STATUS_FINALISATION = "3"
STATUS_CLOSED = "4"
STATUS_CANCELLED = "5"
GRANT_STATUS = {
    "approved": STATUS_IMPLEMENTATION,
    "completed": STATUS_FINALISATION,
    "closed": STATUS_CLOSED,
    "cancelled": STATUS_CANCELLED,
}

# ActivityDateType
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"

# TransactionType
INCOMING_FUNDS = "1"
OUTGOING_COMMITMENT = "2"
DISBURSEMENT = "3"
INCOMING_COMMITMENT = "11"

# OrganisationRole
ROLE_FUNDING, ROLE_ACCOUNTABLE, ROLE_EXTENDING, ROLE_IMPLEMENTING = "1", "2", "3", "4"

# OrganisationType
ORG_TYPE_GOVERNMENT = "10"
ORG_TYPE_MULTILATERAL = "40"
ORG_TYPE_FOUNDATION = "60"

# DescriptionType
DESCRIPTION_GENERAL, DESCRIPTION_OBJECTIVES = "1", "2"

# FlowType 10 ODA; FinanceType 110 standard grant; AidType D02 other technical assistance
# (an exchange of experience), vocabulary 1 (OECD DAC).
FLOW_ODA = "10"
FINANCE_GRANT = "110"
AID_TYPE_TECHNICAL_ASSISTANCE = "D02"
# CollaborationType 8: bilateral, triangular co-operation (a traditional donor with a
# provider and a recipient country).
COLLABORATION_TRIANGULAR = "8"

# SectorVocabulary 1 (OECD DAC 5-digit); the fund's own activity: 43010 multisector aid.
SECTOR_VOCABULARY_DAC = "1"
FUND_SECTOR = "43010"

# RegionVocabulary 1 (OECD DAC). A grant with no recipient country is published with its
# World Bank region's nearest DAC region; the fund's activity with "developing countries,
# unspecified".
REGION_VOCABULARY_DAC = "1"
REGION_UNSPECIFIED = "998"
DAC_REGION = {
    "AFR": "289",  # South of Sahara, regional
    "EAP": "798",  # Asia, regional
    "ECA": "89",  # Europe, regional
    "LCR": "498",  # America, regional
    "MNA": "589",  # Middle East, regional
    "SAR": "679",  # South Asia, regional
    "OTH": REGION_UNSPECIFIED,
}

# BudgetType 1 original, BudgetStatus 2 committed.
BUDGET_ORIGINAL, BUDGET_COMMITTED = "1", "2"

# RelatedActivityType
RELATED_PARENT, RELATED_CHILD = "1", "2"

# ResultType 1 output, 2 outcome; IndicatorMeasure 1 unit, 5 qualitative.
RESULT_OUTPUT, RESULT_OUTCOME = "1", "2"
MEASURE_UNIT, MEASURE_QUALITATIVE = "1", "5"

# DocumentCategory A08 results, outcomes and outputs; FileFormat text/html.
DOCUMENT_RESULTS = "A08"
FORMAT_HTML = "text/html"

# A grant's published documents (documents.models.DocumentCategory): the DocumentCategory
# code of each category. A02 objectives / purpose of activity, A07 review of project
# performance and evaluation, A08 results, outcomes and outputs, A11 contract.
DOCUMENT_CATEGORY = {
    "concept_note": "A02",
    "agenda": "A02",
    "back_to_office_report": "A07",
    "presentation": "A08",
    "agreement": "A11",
    "photo": "A08",
    "other": "A08",
}
# The documents' content types the FileFormat codelist has (image/webp is not on it: a
# WebP document is published on the story's page, not linked from the activity).
DOCUMENT_FORMATS = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/plain",
    "text/csv",
}
