from ninja import Router

router = Router(tags=["信用积分 points"])
