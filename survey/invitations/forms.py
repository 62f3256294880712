"""Forms of the campaign, template and monitoring pages."""

from __future__ import annotations

from wtforms import BooleanField, DateTimeLocalField, HiddenField, IntegerField, SelectField, SelectMultipleField, \
    StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from survey.accounts.forms import StaffForm, choices, optional_id
from survey.invitations.exports import TARGETS
from survey.invitations.models import KIND_LABELS


class TargetForm(StaffForm):
    """Which part of the round: a group, an agency, or (empty) all of it."""

    group_id = optional_id("Nhóm đối tượng")
    agency_id = optional_id("Cơ quan, đơn vị")


class ConfirmedForm(TargetForm):
    """A mass action: the first post shows how many it reaches, the second carries that count back.

    The count rather than a bare "yes": if the roster changed in between, the action is shown
    again with the new count instead of reaching people the administrator did not agree to.
    """

    confirmed = IntegerField(validators=[Optional()])


class CampaignForm(ConfirmedForm):
    respondent = SelectMultipleField(coerce=int, validate_choice=False)  # ticked on the call list
    selection = HiddenField()  # "1": the call list's buttons act on the ticked people only
    again = BooleanField("Gửi cả cho người đã được mời")
    back = HiddenField()

    def validate_respondent(self, field) -> None:
        if self.selection.data == "1" and not field.data:
            raise ValidationError("Chưa chọn người nào trong danh sách.")


class ReminderRulesForm(StaffForm):
    reminder_max = IntegerField("Số lần nhắc tối đa mỗi người", validators=[
        InputRequired("Hãy nhập số nguyên."), NumberRange(0, 20, "Số lần nhắc tối đa phải từ 0 đến 20.")])
    reminder_interval_days = IntegerField("Cách nhau ít nhất (ngày)", validators=[
        InputRequired("Hãy nhập số nguyên."), NumberRange(1, 60, "Khoảng cách giữa hai lần nhắc phải từ 1 đến 60 ngày.")])


RUN_AT_PROBLEM = "Thời điểm hẹn gửi không hợp lệ (ví dụ 2023-12-15T08:00)."


class ScheduleForm(TargetForm):
    kind = SelectField("Loại thư", choices=choices(KIND_LABELS))
    run_at = DateTimeLocalField("Thời điểm (giờ Việt Nam)", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                validators=[InputRequired(RUN_AT_PROBLEM)])

    def validate_run_at(self, field) -> None:
        if field.data is None:
            raise ValidationError(RUN_AT_PROBLEM)


class CancelScheduleForm(StaffForm):
    schedule_id = IntegerField(validators=[InputRequired("Lịch gửi không tồn tại hoặc đã chạy.")])


class TemplateForm(StaffForm):
    subject = StringField("Tiêu đề")
    body_text = TextAreaField("Nội dung dạng văn bản")
    body_html = TextAreaField("Nội dung dạng HTML")
    action = StringField()  # the button pressed: preview, save or reset


class ResendForm(StaffForm):
    email = StringField("E-mail đúng")


class LinksForm(ConfirmedForm):
    target = SelectField("Ai", choices=choices(TARGETS))


class DigestForm(StaffForm):
    first_at = DateTimeLocalField("Gửi lần đầu lúc (giờ Việt Nam)", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                  validators=[InputRequired(RUN_AT_PROBLEM)])
    interval_days = IntegerField("Nhắc lại sau mỗi (ngày)", validators=[
        InputRequired("Hãy nhập số nguyên."), NumberRange(1, 30, "Chu kỳ gửi phải từ 1 đến 30 ngày.")])

    def validate_first_at(self, field) -> None:
        if field.data is None:
            raise ValidationError(RUN_AT_PROBLEM)


class StopDigestForm(StaffForm):
    """Only the CSRF token: stopping the digests has nothing else to say."""
