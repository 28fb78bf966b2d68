"""GET /api/skills: the skills the embedded bank and the parametric families cover."""

from fastapi import APIRouter

from serve_app.dependencies import CurrentUser, StateDep
from serve_app.schemas import CatalogSkill

router = APIRouter(prefix="/api", tags=["skills"])


@router.get("/skills", response_model=list[CatalogSkill])
async def list_skills(_: CurrentUser, state: StateDep) -> list[CatalogSkill]:
    return [CatalogSkill(**vars(coverage)) for coverage in state.questions.skills()]
