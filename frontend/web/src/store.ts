/** Session state: the API key lives in memory and sessionStorage only (gone when the tab closes). */
import { create } from "zustand";
import { createJSONStorage, persist } from "zustand/middleware";

interface Session {
  apiKey: string;
  setApiKey: (key: string) => void;
}

export const useSession = create<Session>()(
  persist((set) => ({ apiKey: "", setApiKey: (apiKey: string) => set({ apiKey: apiKey.trim() }) }), {
    name: "tripcast-session",
    storage: createJSONStorage(() => sessionStorage),
  }),
);
