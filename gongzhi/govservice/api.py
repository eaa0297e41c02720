from ninja import Router

router = Router(tags=["政务服务 govservice"])
