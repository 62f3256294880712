"""Forms of the round pages. Dates and times are typed in Vietnam time and stored in UTC."""

from __future__ import annotations

from datetime import UTC

from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from survey.timeutil import VIETNAM

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def form_errors(form: FlaskForm) -> str:
    """Every refusal of a submitted form, in one line for the page's error box."""
    return " ".join(message for messages in form.errors.values() for message in messages)


def whole_number(label: str, *validators) -> IntegerField:
    return IntegerField(label, validators=list(validators),
                        invalid_value_message=f"{label}: vui lòng nhập một số nguyên.")


def day(label: str, *, required: bool = False) -> DateField:
    check = InputRequired(f"{label}: vui lòng nhập ngày.") if required else Optional()
    return DateField(label, validators=[check], invalid_value_message=f"{label}: ngày không hợp lệ.")


class VietnamDateTimeField(DateTimeLocalField):
    """A datetime-local input read as Vietnam time; ``data`` is an aware UTC datetime."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = self.data.replace(tzinfo=VIETNAM).astimezone(UTC)


def moment(label: str) -> VietnamDateTimeField:
    return VietnamDateTimeField(label, format=LOCAL_FORMATS,
                                validators=[InputRequired(f"{label}: vui lòng nhập ngày giờ.")],
                                invalid_value_message=f"{label}: ngày giờ không hợp lệ.")


class RoundSettingsForm(FlaskForm):
    title = StringField("Tên đợt", validators=[InputRequired("Vui lòng nhập tên đợt khảo sát."), Length(max=255)])
    year = whole_number("Năm", InputRequired("Năm: vui lòng nhập một số nguyên."),
                        NumberRange(2000, 2100, "Năm phải từ 2000 đến 2100."))
    opens_at = moment("Thời điểm mở")
    closes_at = moment("Thời điểm đóng")
    ministry_deadline = day("Hạn gửi Bộ")


class NewRoundForm(RoundSettingsForm):
    province_id = whole_number("Tỉnh", InputRequired("Vui lòng chọn tỉnh."))
    ministry_deadline = None  # from the default plan; editable once the round exists

    def versions(self) -> dict[str, str]:
        """Questionnaire key -> chosen version, for the keys given a version."""
        return {name.removeprefix("version_"): field.data for name, field in self._fields.items()
                if name.startswith("version_") and field.data}


def new_round_form(questionnaire_keys) -> NewRoundForm:
    """The creation form with one version choice per published questionnaire."""
    class Form(NewRoundForm):
        pass

    for key in questionnaire_keys:
        # The service refuses a version that does not exist, with the questionnaire's name.
        setattr(Form, f"version_{key}", SelectField(key, validate_choice=False, choices=[]))
    return Form()


class MilestoneForm(FlaskForm):
    milestone_id = whole_number("Mốc", Optional())
    label = StringField("Việc", validators=[InputRequired("Vui lòng nhập tên mốc thời gian."), Length(max=255)])
    starts_on = day("Ngày bắt đầu")
    due_on = day("Hạn hoàn thành", required=True)
    done_on = day("Ngày hoàn thành")


class BindGroupForm(FlaskForm):
    questionnaire_key = StringField("Phiếu", validators=[InputRequired("Vui lòng chọn phiếu."), Length(max=100)])
    questionnaire_version = StringField("Phiên bản", validators=[InputRequired("Vui lòng chọn phiên bản."),
                                                                 Length(max=40)])


class OpenRoundForm(FlaskForm):
    # Opening locks the questionnaires for good: only the confirmation page, which says so, sends this.
    confirmed = HiddenField(validators=[InputRequired("Vui lòng mở đợt khảo sát từ trang xác nhận, "
                                                      "nơi nêu rõ các phiếu sẽ bị khóa.")])


class RemoveGroupForm(FlaskForm):
    group_id = whole_number("Nhóm", InputRequired("Vui lòng chọn nhóm."))


class QuotaForm(FlaskForm):
    def expected(self) -> dict[tuple[int, int], int]:
        """(agency id, group id) -> expected people, for the cells submitted."""
        return {tuple(int(part) for part in name.split("_")[1:]): field.data
                for name, field in self._fields.items() if name.startswith("q_") and field.data is not None}


def quota_form(agencies, groups) -> QuotaForm:
    class Form(QuotaForm):
        pass

    for agency in agencies:
        for group in groups:
            label = f"{agency.name} / {group.label}"
            setattr(Form, f"q_{agency.id}_{group.id}",
                    whole_number(label, Optional(), NumberRange(min=0, message=f"{label}: không được âm.")))
    return Form()


__all__ = ["BindGroupForm", "MilestoneForm", "NewRoundForm", "QuotaForm", "RemoveGroupForm",
           "RoundSettingsForm", "form_errors", "new_round_form", "quota_form"]
