"""Use cases. Each public method is one transaction; handlers call these, nothing lower."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.alert_outbox import AlertQueue
from bot.services.answers import AnswerService
from bot.services.bank import BankService
from bot.services.cardpay import CardPayService
from bot.services.clients import ClientService
from bot.services.contacts import ContactService
from bot.services.decisions import DecisionService
from bot.services.deps import Deps
from bot.services.digest import DigestService
from bot.services.documents import DocumentService
from bot.services.edits import EditService
from bot.services.exports import ExportService
from bot.services.imports import ImportService
from bot.services.invoices import InvoiceService
from bot.services.letters import LetterService
from bot.services.notices import NoticeService
from bot.services.owners import OwnerService
from bot.services.privacy import PrivacyService
from bot.services.reminders import ReminderService
from bot.services.repeats import RepeatService
from bot.services.reports import ReportService
from bot.services.settings import SettingsService


@dataclass(frozen=True)
class Services:
    deps: Deps
    owners: OwnerService
    clients: ClientService
    invoices: InvoiceService
    edits: EditService
    reminders: ReminderService
    answers: AnswerService
    decisions: DecisionService
    settings: SettingsService
    reports: ReportService
    exports: ExportService
    imports: ImportService
    letters: LetterService
    privacy: PrivacyService
    cardpay: CardPayService
    bank: BankService
    notices: NoticeService
    documents: DocumentService
    repeats: RepeatService
    digests: DigestService
    contacts: ContactService
    alerts: AlertQueue

    @classmethod
    def build(cls, deps: Deps) -> Services:
        return cls(
            deps=deps,
            owners=OwnerService(deps),
            clients=ClientService(deps),
            invoices=InvoiceService(deps),
            edits=EditService(deps),
            reminders=ReminderService(deps),
            answers=AnswerService(deps),
            decisions=DecisionService(deps),
            settings=SettingsService(deps),
            reports=ReportService(deps),
            exports=ExportService(deps),
            imports=ImportService(deps),
            letters=LetterService(deps),
            privacy=PrivacyService(deps),
            cardpay=CardPayService(deps),
            bank=BankService(deps),
            notices=NoticeService(deps),
            documents=DocumentService(deps),
            repeats=RepeatService(deps),
            digests=DigestService(deps),
            contacts=ContactService(deps),
            alerts=AlertQueue(deps),
        )
